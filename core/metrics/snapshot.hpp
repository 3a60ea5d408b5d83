// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "core/metrics/latency_buckets.hpp"
#include "core/telemetry/sample.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace fleetscope::metrics {

/// Why samples that decoded were not stored: the `reason` label of fleetscope_samples_rejected_total. A body
/// that does not decode has no countable samples; it shows as a 4xx response.
enum class Rejection : std::uint8_t {
    unauthorized,    // 401: the bearer token is not the token of a device in the request
    overloaded,      // 503: the store's queue was full
    database_full,   // 503: store-max-bytes reached, or the disk is full
    database_locked, // 503: another process held the write lock past store-busy-timeout
    store_error,     // 503: any other SQLite error
    stopping,        // 503: the gateway was stopping
};
inline constexpr std::size_t kRejections = 6;
inline constexpr std::array<std::string_view, kRejections> kRejectionNames = {
    "unauthorized", "overloaded", "database_full", "database_locked", "store_error", "stopping"};

/// One worker thread's scheduler figures at the moment of a snapshot.
struct WorkerSnapshot {
    std::uint32_t ready_depth = 0;      // fibers ready to run
    std::uint64_t fibers_alive = 0;     // fibers started and not finished
    std::uint64_t context_switches = 0; // total since start
    std::uint64_t idle_ns = 0;          // total time blocked in the reactor with nothing to run
    std::uint64_t connections = 0;      // sockets owned by this worker (active and parked)
    std::uint64_t parked = 0;           // of which held without a fiber
};

/// Everything the gateway knows about itself at one instant. Totals are monotonic; the UI derives rates from
/// consecutive snapshots. Plain value type, copied through the lock-free queues.
struct Snapshot {
    std::int64_t at_ms = 0;     // wall clock, ms since epoch
    std::int64_t uptime_ms = 0; // since Gateway::start

    // Connections
    std::uint64_t connections_open = 0;
    std::uint64_t accepted_total = 0;
    std::uint64_t accept_backoffs = 0; // EMFILE/ENFILE events
    std::uint64_t connection_ceiling = 0;
    std::uint64_t fd_limit = 0;
    std::uint64_t open_fds = 0;

    // Kernel listen queue; -1 where not available (non-Linux)
    std::int64_t listen_queue = -1;
    std::int64_t listen_queue_limit = -1;
    std::int64_t listen_overflows = -1; // host-wide totals from /proc/net/netstat
    std::int64_t listen_drops = -1;

    // Requests: index 1..5 is the status class (1xx..5xx); 0 unused
    std::array<std::uint64_t, 6> responses_by_class{};
    std::uint64_t samples_committed = 0;
    double ack_p50_ms = 0; // POST /v1/telemetry receive-to-ack latency over the last interval
    double ack_p99_ms = 0;
    LatencyBuckets ack_latency;                                // the same since start, cumulative
    std::array<std::uint64_t, kRejections> samples_rejected{}; // totals since start, by Rejection
    std::uint64_t devices_connected = 0; // devices with an open connection that posted for them

    // Scheduler
    std::vector<WorkerSnapshot> workers;

    // Store
    std::uint64_t store_queue = 0;
    std::uint64_t store_batches = 0;
    std::uint32_t store_last_batch = 0;
    double commit_p50_ms = 0; // over the last interval
    double commit_p99_ms = 0;
    LatencyBuckets commit_latency;    // every commit since start, cumulative
    std::int64_t database_bytes = -1; // the store's files on disk (Store::disk_bytes); -1 when not known

    // Process; 0 or -1 where the platform cannot say
    std::uint64_t rss_bytes = 0;
    std::int64_t virtual_memory_bytes = -1;
    double cpu_seconds = -1;        // user + system since the process started
    double start_time_seconds = -1; // when the process started, since the Unix epoch

    // Ingest beside POST /v1/telemetry (metrics::IngestCounters): line protocol and MQTT
    std::uint64_t line_protocol_samples = 0;
    std::uint64_t line_protocol_strings = 0; // string fields skipped
    std::uint8_t mqtt_link = 0;              // metrics::MqttLink
    std::uint64_t mqtt_messages = 0;
    std::uint64_t mqtt_committed = 0;
    std::uint64_t mqtt_invalid = 0;
    std::uint64_t mqtt_connects = 0;

    // View-update drops of the subscriber that received this snapshot (it lagged)
    std::uint64_t dropped_updates = 0;
};

/// A committed sample forwarded to live views.
using DeviceUpdate = telemetry::Sample;

} // namespace fleetscope::metrics
