// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/runtime/scheduler.hpp"

#include <boost/asio/post.hpp>
#include <boost/fiber/context.hpp>

namespace fleetscope::runtime {

AsioScheduler::AsioScheduler(boost::asio::io_context& io, WorkerCounters& counters)
    : io_(io)
    , counters_(counters)
{}

void AsioScheduler::awakened(boost::fibers::context* ctx) noexcept
{
    ctx->ready_link(ready_);
    counters_.ready_depth.store(++depth_, std::memory_order_relaxed);
}

boost::fibers::context* AsioScheduler::pick_next() noexcept
{
    if (ready_.empty())
        return nullptr;
    boost::fibers::context* ctx = &ready_.front();
    ready_.pop_front();
    counters_.ready_depth.store(--depth_, std::memory_order_relaxed);
    counters_.context_switches.fetch_add(1, std::memory_order_relaxed);
    return ctx;
}

bool AsioScheduler::has_ready_fibers() const noexcept
{
    return !ready_.empty();
}

void AsioScheduler::suspend_until(std::chrono::steady_clock::time_point const& deadline) noexcept
{
    // Nothing is ready: block in the reactor until one handler ran (a completion, a posted wake-up from
    // notify(), a timer) or a fiber's sleep deadline passed, then run whatever else is ready without blocking
    // so that one pass wakes every fiber whose I/O completed.
    const auto start = std::chrono::steady_clock::now();
    if (deadline == std::chrono::steady_clock::time_point::max())
        io_.run_one();
    else
        io_.run_one_until(deadline);
    const auto woke = std::chrono::steady_clock::now();
    io_.poll();
    counters_.idle_ns.fetch_add(
        static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(woke - start).count()),
        std::memory_order_relaxed);
}

void AsioScheduler::notify() noexcept
{
    // Called from another thread after it made one of our fibers ready: wake run_one() by posting to the
    // io_context, the one thread-safe way in (touching a timer from here would race).
    boost::asio::post(io_, [] {});
}

} // namespace fleetscope::runtime
