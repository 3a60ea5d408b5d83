// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// The PostgreSQL store: many gateways writing one database (docs/architecture.md, "Scale-out").

#include "core/settings.hpp"
#include "core/store/pg/pg_reader.hpp"
#include "core/store/store.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace fleetscope::store::pg {

/// How a batch travels to the server in its COPY: binary (network-order fields, no parsing on the server)
/// or text (decimal digits). Both are kept so that bench_pg_store can measure one against the other.
enum class CopyFormat { binary, text };

struct Options {
    std::string conninfo; // a libpq URI or key=value conninfo
    std::string gateway;  // this gateway's name: recorded with its sessions and the connections it holds
    std::size_t queue_samples = 262'144;
    std::size_t max_batch_samples = 16'384;
    Millis statement_timeout{5'000}; // and lock timeout: how long a statement may wait for the server
    Millis connect_timeout{10'000};
    unsigned retention_days = 0; // 0: keep everything
    // The session this store records; empty `app_version` records none (and registers no gateway).
    std::string app_version;
    std::string settings_json;
    CopyFormat copy_format = CopyFormat::binary;

    /// From the gateway's settings; `conninfo` is the store target's location (store_target()).
    static Options from(const Settings& s, const std::string& conninfo);
    /// From the boundary's options (open_store); `conninfo` is the PostgreSQL part of `o.path`.
    static Options from(const store::Options& o, const std::string& conninfo);
};

/// The PostgreSQL telemetry store: the same contract as the SQLite Store (group commit, 204 only after
/// COMMIT, backpressure, sessions, marks, timeline, alerts), shared by any number of gateways.
///
/// Threads: one writer thread owns the write connection and runs every write (batches, jobs, partition
/// upkeep, retention, the gateway's heartbeat); `submit` and the other queueing calls take a short queue
/// lock from any thread; reads run on the calling thread on a leased connection (never a fiber worker's:
/// the gateway runs them through runtime::BlockingPool).
///
/// Outages: the constructor throws when the server cannot be reached, or refuses the login, or the schema
/// cannot be migrated. After that, a lost connection fails the batch in flight with CommitStatus::failed
/// (503 with Retry-After) and every batch after it until the writer has reconnected; the writer tries again
/// with a back-off, and commits resume without a restart.
class PgStore final : public Store, public Writer {
public:
    explicit PgStore(Options options);
    ~PgStore() override; // stop()
    PgStore(const PgStore&) = delete;
    PgStore& operator=(const PgStore&) = delete;

    // Store.
    Writer& writer() override { return *this; }
    /// Reads; see PgReader.
    const PgReader& reader() const override;
    /// Where it connects, without the password.
    const std::string& location() const override;
    /// The whole database's size on the server (pg_database_size: every gateway's data), as the writer
    /// last read it, every 10 s, so that the sampler thread that asks never waits on the network; -1 until
    /// it has.
    std::int64_t disk_bytes() const override;

    // Writer.
    bool submit(std::vector<telemetry::Sample>&& samples, CommitCallback done) override;
    void set_observer(CommitObserver observer) override;
    std::int64_t session_id() const override;
    bool add_timeline(std::vector<TimelineRow> points) override;
    /// Alert raises, clears and acknowledgements, in order, as one write.
    bool add_alert_changes(std::vector<AlertChange> changes) override;
    StoreStats stats() const override;
    /// Commits what is queued, ends the session ("stop"), leaves the gateway list, joins the writer.
    void stop() override;
    /// A connection to `device` opened (first post) or closed on this gateway; written with the next round.
    void note_connection(const std::string& device, bool open) override;
    /// Marks this gateway as draining in the gateway list (SIGTERM received).
    void set_draining(bool draining) override;

    const std::string& gateway() const;
    /// Whether the writer's connection stands now (false from a lost connection until it reconnects).
    bool connected() const;

    /// Runs the retention pass now instead of at its next period (tests). Blocks until the writer ran it;
    /// false when it could not finish (an outage, a lock not granted).
    bool run_retention_now() override;

private:
    bool queue_mark(MarkRow mark) override;

    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace fleetscope::store::pg
