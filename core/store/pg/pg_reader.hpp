// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// Reads of a FleetScope PostgreSQL database: what the HTTP API, the monitor and the exporter need.

#include "core/store/pg/connection.hpp"
#include "core/store/reader.hpp"

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
class PgReader final : public Reader {
public:
    /// Connects nowhere yet; the first read does. `expect_schema` checks the first connection finds this
    /// build's schema (a reader opened on its own, e.g. by the exporter, on a database no gateway ever used).
    explicit PgReader(Target target, bool expect_schema = true);
    ~PgReader() override;
    PgReader(const PgReader&) = delete;
    PgReader& operator=(const PgReader&) = delete;

    /// Where it connects, without the password.
    const std::string& location() const override { return location_; }
    /// Devices with at least one committed sample, by name (bytewise, as SQLite orders them).
    std::vector<DeviceRow> devices() const override;
    std::vector<std::string> metric_names() const override;
    std::vector<SampleRow> samples(const SampleQuery& q) const override;
    Summary summary() const override;
    /// Every session of every gateway, oldest first.
    std::vector<SessionRow> sessions() const override;
    /// The gateway that recorded each session, by session id, in sessions() order.
    std::vector<std::pair<std::int64_t, std::string>> session_gateways() const;
    std::vector<MarkRow> marks() const override;
    using Reader::timeline;
    void timeline(const TimelineQuery& q, const std::function<void(const TimelineRow&)>& row) const override;
    std::vector<std::string> timeline_series() const override;
    std::vector<AlertRow> alerts(const AlertQuery& q) const override;
    std::vector<std::pair<std::string, std::string>> meta() const override;
    std::vector<std::uint64_t> count_readings(const ReadingsQuery& q) const override;
    /// Each group is one statement, and so one snapshot.
    void read_readings(const ReadingsQuery& q, ReadingVisitor& visitor,
                       std::uint64_t group_readings = 65'536) const override;
    /// Which gateway holds each connected device, among the gateways whose heartbeat is recent.
    std::optional<std::vector<DeviceHolder>> holders() const override;

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
    std::string location_;
    bool expect_schema_;
    mutable std::mutex mutex_;
    mutable std::condition_variable cv_;
    mutable std::vector<Connection> idle_;
    mutable std::size_t open_ = 0;
    mutable bool schema_checked_ = false;
};

} // namespace fleetscope::store::pg
