// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "core/metrics/histogram.hpp"
#include "core/settings.hpp"
#include "core/telemetry/sample.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

struct sqlite3;

namespace fleetscope::store {

/// How a submitted request ended. Only `committed` may be acknowledged to a device; every other outcome means
/// nothing of the request was stored (its batch rolled back whole), and the writer carries on with the next
/// batch, so a cause that goes away needs no restart.
enum class CommitStatus {
    committed,
    overloaded, // refused at submit: the queue is over its bound
    full,       // SQLITE_FULL: the database reached store-max-bytes, or the disk is full
    locked,     // SQLITE_BUSY: another connection held the write lock past the busy timeout
    failed,     // any other SQLite error (I/O error, corruption)
    stopped,
};

struct Options {
    std::string path;
    std::size_t queue_samples = 262'144;
    std::size_t max_batch_samples = 16'384;
    Millis busy_timeout{5'000};
    // The session this store records (see SessionRow); empty `app_version` records none.
    std::string app_version;
    std::string settings_json;   // a JSON object, every setting by its CLI name
    std::uint64_t max_bytes = 0; // database size cap (PRAGMA max_page_count on the writer); 0: unlimited

    static Options from(const Settings& s);
};

struct DeviceRow {
    std::string device;
    std::int64_t first_seen = 0; // ms since epoch, sample time
    std::int64_t last_seen = 0;
    std::int64_t samples = 0;
};

struct SampleRow {
    std::int64_t ts = 0;
    std::string metric;
    double value = 0;
};

/// One run of a gateway over this database, from start to stop.
struct SessionRow {
    std::int64_t id = 0;
    std::int64_t started_at = 0;          // ms since epoch, wall clock
    std::optional<std::int64_t> ended_at; // empty while it runs, or if it crashed before the next open
    std::string end_reason;               // "stop", "crash", or empty while it runs
    std::string app_version;
    std::string settings_json;
};

/// One point of the gateway metric timeline (see kTimelineSeries in capture.hpp).
struct TimelineRow {
    std::string series;
    std::int64_t ts = 0; // ms since epoch, wall clock
    double value = 0;
};

/// A recording span an engineer marked within a session (Store::add_mark).
struct MarkRow {
    std::int64_t id = 0;
    std::int64_t session_id = 0;
    std::string label;
    std::int64_t from_ts = 0; // ms since epoch, inclusive
    std::int64_t to_ts = 0;
};

struct SampleQuery {
    std::string device;
    std::string metric;               // empty: every metric
    std::optional<std::int64_t> from; // inclusive, ms
    std::optional<std::int64_t> to;   // inclusive, ms
    std::size_t limit = 10'000;
};

/// Counters read by the metrics sampler; every field is a plain copy.
struct StoreStats {
    std::size_t queue_samples = 0;       // waiting for the writer now
    std::uint64_t batches = 0;           // committed transactions
    std::uint64_t committed_samples = 0; // total
    std::uint64_t committed_requests = 0;
    std::uint64_t rejected_overload = 0; // submits refused by the bound
    std::uint64_t failed_batches = 0;
    std::uint32_t last_batch_samples = 0;
    std::uint32_t last_commit_us = 0;
    metrics::HistogramCounts commit_latency; // every commit since open
};

/// Thrown by the constructor when the database cannot be opened or migrated; the message names the path and
/// SQLite's reason.
class StoreError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Called once on the writer thread when the batch holding a request's samples has committed or failed. It
/// must not block: the usual body posts a completion to the submitting fiber's io_context.
using CommitCallback = std::function<void(CommitStatus)>;

/// Called on the writer thread after every commit with the samples just made durable (for live views), once
/// per committed request, after that batch's callbacks.
using CommitObserver = std::function<void(std::span<const telemetry::Sample>)>;

/// A write that is not telemetry (a session's end, timeline points, alert events). It runs on the writer
/// thread, in a transaction of its own after the next group commit, and returns false to roll it back.
/// It must not throw.
using WriteJob = std::function<bool(sqlite3*)>;

/// The SQLite telemetry store: WAL, schema versioned by PRAGMA user_version, one writer thread with group
/// commit. Thread-safe: `submit` from any thread (it only takes a short queue lock); queries from any thread
/// that may block (never a fiber worker: the gateway runs them through runtime::run_blocking).
class Store {
public:
    explicit Store(Options options);
    ~Store(); // same as stop()
    Store(const Store&) = delete;
    Store& operator=(const Store&) = delete;

    /// Queues the samples of one request. Returns false, without calling `done`, when the queue holds more
    /// than `queue_samples` or the store is stopping.
    bool submit(std::vector<telemetry::Sample>&& samples, CommitCallback done);

    /// Set before the first submit.
    void set_observer(CommitObserver observer);

    /// Queues a non-telemetry write for the writer thread (see WriteJob). Returns false when stopping.
    bool post_write(WriteJob job);

    /// The session this store opened (0 when Options::app_version was empty).
    std::int64_t session_id() const;

    /// Commits everything queued, calls every pending callback, joins the writer. Idempotent.
    void stop();

    /// Every device, ordered by name. Throws StoreError when SQLite cannot read the file.
    std::vector<DeviceRow> devices() const;
    /// One device's readings in (ts, metric name) order, at most `q.limit`; empty for an unknown device or
    /// metric. Throws StoreError when SQLite cannot read the file.
    std::vector<SampleRow> samples(const SampleQuery& q) const;
    /// Every recorded session, oldest first. Throws StoreError when SQLite cannot read the file.
    std::vector<SessionRow> sessions() const;
    StoreStats stats() const;
    const std::string& path() const;

    /// Queues a recording span of this store's session (one post_write). Returns an empty string when
    /// queued, else what is wrong: no session, a label empty or over kMaxMarkLabel bytes, from_ts after
    /// to_ts, or the store stopping.
    std::string add_mark(const std::string& label, std::int64_t from_ts, std::int64_t to_ts);
    /// Queues timeline points of this store's session as one write job; a point repeating a (series, ts)
    /// replaces it. False when there is no session or the store is stopping.
    bool add_timeline(std::vector<TimelineRow> points);
    static constexpr std::size_t kMaxMarkLabel = 200;

    static constexpr int kSchemaVersion = 2;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace fleetscope::store
