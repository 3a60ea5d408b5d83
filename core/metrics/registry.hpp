// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "core/metrics/histogram.hpp"
#include "core/metrics/snapshot.hpp"

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace fleetscope::metrics {

/// A monotonic counter with a single writer. add() is a relaxed load and store, not a locked
/// read-modify-write, which is only correct because one thread writes it. Thread ownership: written by its
/// owner thread, read by any thread through load().
class Counter {
public:
    void add(std::uint64_t n = 1)
    {
        v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }
    std::uint64_t load() const { return v_.load(std::memory_order_relaxed); }

private:
    std::atomic<std::uint64_t> v_{0};
};

/// The sum of one or more WorkerMetrics slots at one moment: a plain value for the sampler.
struct WorkerTotals {
    std::array<std::uint64_t, 6> responses_by_class{}; // index 1..5: 1xx..5xx; 0 unused
    std::uint64_t samples_accepted = 0;                // parsed, validated and queued for the store
    std::uint64_t samples_committed = 0;               // acknowledged after commit
    std::uint64_t requests = 0;                        // requests read (any route, any outcome)
    std::uint64_t accepts = 0;                         // connections accepted by this worker's accept fiber
    std::array<std::uint64_t, kRejections> samples_rejected{}; // decoded and not stored, by Rejection
    HistogramCounts ack_latency; // POST /v1/telemetry, request received to ack sent

    WorkerTotals& operator+=(const WorkerTotals& other);
};

/// One worker thread's counters, on cache lines of its own so that workers never write a line another core
/// reads or writes in the same instant (no false sharing). Thread ownership: written ONLY by its worker
/// thread (everything else on that worker, fibers included, runs on that thread); read by the sampler via
/// read().
struct alignas(64) WorkerMetrics {
    std::array<Counter, 6> responses_by_class; // index = status / 100; see count_response
    Counter samples_accepted;
    Counter samples_committed;
    Counter requests;
    Counter accepts;
    std::array<Counter, kRejections> samples_rejected;
    Histogram ack_latency;

    /// Counts one response by its status class; statuses outside 100..599 are not counted.
    void count_response(unsigned status)
    {
        const unsigned cls = status / 100;
        if (cls >= 1 && cls <= 5)
            responses_by_class[cls].add();
    }

    /// Counts `n` samples of one request that decoded and were not stored.
    void count_rejected(Rejection why, std::uint64_t n)
    {
        samples_rejected[static_cast<std::size_t>(why)].add(n);
    }

    /// Any thread: a copy of every counter as of now.
    WorkerTotals read() const;
};

/// The per-worker slots, allocated once for the gateway's lifetime. Thread ownership: created and destroyed
/// by the gateway's controlling thread; slot(i) is written by worker i only; totals() and read() may run on
/// any thread (the sampler) at any time.
class Registry {
public:
    explicit Registry(std::size_t n_workers);

    std::size_t size() const { return n_; }
    WorkerMetrics& slot(std::size_t i) { return slots_[i]; }
    const WorkerMetrics& slot(std::size_t i) const { return slots_[i]; }

    /// The sum over every slot: what the sampler turns into a Snapshot.
    WorkerTotals totals() const;

private:
    std::size_t n_;
    std::unique_ptr<WorkerMetrics[]> slots_;
};

} // namespace fleetscope::metrics
