// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// Reads of a FleetScope PostgreSQL database: what the HTTP API, the monitor and the exporter need.

#include "core/store/pg/connection.hpp"
#include "core/store/pg/pg_store.hpp"
#include "core/store/store.hpp"

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

namespace fleetscope::store::pg {

/// Thread-safe: each read leases one of a few connections (opened on demand, dropped when the server went
/// away), so reads from several threads run side by side. Every read is one statement, and so sees one
/// consistent snapshot. Each throws PgError (a StoreError) when the database cannot answer; a read that finds
/// its connection lost tries once more on a fresh one, so the first read after a database restart succeeds.
class PgReader {
public:
    /// Connects nowhere yet; the first read does. `expect_schema` checks the first connection finds this
    /// build's schema (a reader opened on its own, e.g. by the exporter, on a database no gateway ever used).
    explicit PgReader(Target target, bool expect_schema = true);
    ~PgReader();
    PgReader(const PgReader&) = delete;
    PgReader& operator=(const PgReader&) = delete;

    /// Devices with at least one committed sample, by name (bytewise, as SQLite orders them).
    std::vector<DeviceRow> devices() const;
    /// Which gateway holds each connected device, among the gateways whose heartbeat is recent.
    std::vector<DeviceHolder> holders() const;
    /// One device's readings in (ts, metric name) order, at most q.limit (as Store::samples).
    std::vector<SampleRow> samples(const SampleQuery& q) const;
    /// Every session of every gateway, oldest first.
    std::vector<SessionRow> sessions() const;
    /// The gateway that recorded each session, by session id, in sessions() order.
    std::vector<std::pair<std::int64_t, std::string>> session_gateways() const;
    std::vector<MarkRow> marks() const;
    /// Timeline points with from <= ts <= to, in (ts, series) order; `series` empty: every series.
    std::vector<TimelineRow> timeline(std::int64_t from, std::int64_t to,
                                      const std::string& series = {}) const;
    std::vector<std::string> timeline_series() const;

    /// Runs `fn` on a leased connection (for reads this class does not offer yet, and tests).
    void with_connection(const std::function<void(Connection&)>& fn) const;

    /// How long a gateway's heartbeat may be silent before its connections count as gone.
    static constexpr std::int64_t kHeartbeatTimeoutMs = 5'000;

private:
    Connection lease() const;
    void give_back(Connection c) const;
    template <class F>
    auto read(F&& fn) const;

    Target target_;
    bool expect_schema_;
    mutable std::mutex mutex_;
    mutable std::condition_variable cv_;
    mutable std::vector<Connection> idle_;
    mutable std::size_t open_ = 0;
    mutable bool schema_checked_ = false;
};

} // namespace fleetscope::store::pg
