// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// The value types of the storage boundary: what a Writer takes and what a Reader returns. Nothing here names
// a backend; SQLite (core/store/sqlite) is one, PostgreSQL will be the next.

#include "core/metrics/histogram.hpp"
#include "core/settings.hpp"
#include "core/telemetry/sample.hpp"

#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace fleetscope::store {

/// How a submitted request ended. Only `committed` may be acknowledged to a device; every other outcome means
/// nothing of the request was stored (its batch rolled back whole), and the writer carries on with the next
/// batch, so a cause that goes away needs no restart.
enum class CommitStatus {
    committed,
    overloaded, // refused at submit: the queue is over its bound
    full,       // the store reached store-max-bytes, or the disk is full
    locked,     // another process held the write lock past the busy timeout
    failed,     // any other storage error (I/O error, corruption)
    stopped,
};

/// Where and how to open a store (open_store).
struct Options {
    /// The location: a file path or `sqlite:PATH` (the SQLite backend), or a PostgreSQL one: a libpq URI
    /// (`postgresql://...`, `postgres://...`) or `postgresql:` followed by a key=value conninfo.
    std::string path;
    std::size_t queue_samples = 262'144;
    std::size_t max_batch_samples = 16'384;
    Millis busy_timeout{5'000};
    // The session this store records (see SessionRow); empty `app_version` records none.
    std::string app_version;
    std::string settings_json;   // a JSON object, every setting by its CLI name
    std::uint64_t max_bytes = 0; // size cap of what the store holds; 0: unlimited
    /// Readings committed before the backend moves them into their long-term layout (the SQLite backend's
    /// compaction; see sqlite/recent_writer.cpp for how a large fleet raises it). Larger amortises better;
    /// tests lower it to compact often.
    std::size_t compact_readings = 32'768;
    /// Samples and timeline points whose whole UTC day is older than this many days are deleted; 0 keeps
    /// everything.
    unsigned retention_days = 0;
    /// SQLite: chunk ids one retention slice visits, and timeline points it deletes, at most (tests lower it
    /// to run a pass in many slices).
    std::int64_t retention_slice = 16'384;
    /// PostgreSQL: this gateway's name (recorded with its sessions and the connections it holds), and how
    /// long to wait for the server at start.
    std::string gateway;
    Millis connect_timeout{10'000};

    static Options from(const Settings& s);
};

struct DeviceRow {
    std::string device;
    std::int64_t first_seen = 0; // ms since epoch, sample time
    std::int64_t last_seen = 0;
    std::int64_t samples = 0; // telemetry samples received (one sample holds one or more readings)
};

/// Which gateway holds a device's connection now (Reader::holders).
struct DeviceHolder {
    std::string device;
    std::string gateway; // the first by name when several do
};

/// One reading of one device.
struct SampleRow {
    std::int64_t ts = 0;
    std::string metric;
    double value = 0;
};

/// One run of a gateway over this store, from start to stop.
struct SessionRow {
    std::int64_t id = 0;
    std::int64_t started_at = 0;          // ms since epoch, wall clock
    std::optional<std::int64_t> ended_at; // empty while it runs, or if it crashed before the next open
    std::string end_reason;               // "stop", "crash", or empty while it runs
    std::string app_version;
    std::string settings_json;
};

/// One point of the gateway metric timeline (see metrics::kDerivedSeries).
struct TimelineRow {
    std::string series;
    std::int64_t ts = 0; // ms since epoch, wall clock
    double value = 0;
    std::int64_t session_id = 0; // filled by a Reader; ignored by Writer::add_timeline (its own session)
};

/// A recording span an engineer marked within a session (Writer::add_mark).
struct MarkRow {
    std::int64_t id = 0;
    std::int64_t session_id = 0;
    std::string label;
    std::int64_t from_ts = 0; // ms since epoch, inclusive
    std::int64_t to_ts = 0;
};

/// One alert as recorded: raised, and maybe cleared and acknowledged since.
struct AlertRow {
    std::int64_t id = 0;
    std::int64_t session_id = 0;
    std::string rule;
    std::string subject;
    std::string severity;
    std::int64_t raised_at = 0; // ms since epoch, wall clock
    std::optional<std::int64_t> cleared_at;
    std::optional<std::int64_t> acked_at;
    std::string message;
};

/// One change to the alerts record (Writer::add_alert_changes): a raise adds the alert with its id, a clear
/// or an acknowledgement stamps its time on the alert of that id.
struct AlertChange {
    enum class Kind { raised, cleared, acked };
    Kind kind = Kind::raised;
    AlertRow alert; // raised: every field but session_id (the writer's session); else id and the time stamped
};

struct SampleQuery {
    std::string device;
    std::string metric;               // empty: every metric
    std::optional<std::int64_t> from; // inclusive, ms
    std::optional<std::int64_t> to;   // inclusive, ms
    std::size_t limit = 10'000;
    /// The last `limit` readings of the range rather than the first (still returned in time order): what a
    /// history view shows of a range longer than it can hold.
    bool latest = false;
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

/// Thrown when a store or a file cannot be opened, migrated or read; the message names the file (or the
/// location) and the reason.
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

inline constexpr std::int64_t kMinTime = std::numeric_limits<std::int64_t>::min();
inline constexpr std::int64_t kMaxTime = std::numeric_limits<std::int64_t>::max();

} // namespace fleetscope::store
