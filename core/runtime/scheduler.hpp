// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/fiber/algo/algorithm.hpp>
#include <boost/fiber/scheduler.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>

namespace fleetscope::runtime {

/// Scheduler figures of one worker. Written only by the worker's thread (relaxed stores), read by the metrics
/// sampler on its own thread. Cache-line aligned so workers never share a line.
struct alignas(64) WorkerCounters {
    std::atomic<std::uint32_t> ready_depth{0};
    std::atomic<std::uint64_t> fibers_alive{0};
    std::atomic<std::uint64_t> context_switches{0};
    std::atomic<std::uint64_t> idle_ns{0};
    std::atomic<std::uint64_t> connections{0};
    std::atomic<std::uint64_t> parked{0};
};

/// Our Boost.Fiber scheduling algorithm: a FIFO ready queue of the worker's own fibers and, whenever no fiber
/// is ready, the worker's io_context. Installed on one worker thread; every member is touched by that thread
/// only, except notify(), which other threads call to wake it.
///
/// Why the reactor runs in suspend_until rather than in a posted handler (as Boost.Fiber's Asio example
/// does): a handler that never returns keeps the io_context's thread-private queue from being flushed, which
/// stalls with concurrency hint 1. Here run_one() returns after each handler, so every completion is
/// published at once, and handlers only schedule fibers: they never block on a fiber primitive.
class AsioScheduler final : public boost::fibers::algo::algorithm {
public:
    AsioScheduler(boost::asio::io_context& io, WorkerCounters& counters);

    void awakened(boost::fibers::context* ctx) noexcept override;
    boost::fibers::context* pick_next() noexcept override;
    bool has_ready_fibers() const noexcept override;
    void suspend_until(std::chrono::steady_clock::time_point const& deadline) noexcept override;
    void notify() noexcept override;

private:
    boost::asio::io_context& io_;
    WorkerCounters& counters_;
    boost::fibers::scheduler::ready_queue_type ready_;
    std::uint32_t depth_ = 0;
};

} // namespace fleetscope::runtime
