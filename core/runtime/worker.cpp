// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/runtime/worker.hpp"

#include "core/log.hpp"
#include "core/runtime/yield.hpp"

#include <boost/fiber/operations.hpp>

#include <exception>
#include <mutex>

namespace fleetscope::runtime {

namespace {
thread_local Worker* tl_worker = nullptr;
thread_local boost::asio::io_context* tl_io = nullptr;
} // namespace

boost::asio::io_context& this_worker_io()
{
    // A fiber outside any worker (a test's main thread) gets a private io_context that it never runs; yield
    // asserts against that misuse by requiring a worker.
    if (!tl_io) {
        log::error("runtime::yield used outside a worker thread");
        std::terminate();
    }
    return *tl_io;
}

Worker::Worker(unsigned index, const WorkerOptions& options)
    : index_(index)
    , options_(options)
{}

Worker::~Worker()
{
    join();
}

Worker* Worker::current()
{
    return tl_worker;
}

void Worker::start()
{
    work_.emplace(io_.get_executor());
    thread_ = std::thread([this] { run(); });
}

void Worker::run()
{
    tl_worker = this;
    tl_io = &io_;
    stacks_ = std::make_unique<StackCache>(options_.stack_bytes, options_.stack_cache);
    boost::fibers::use_scheduling_algorithm<AsioScheduler>(io_, counters_);
    {
        // The main fiber just waits; the scheduler runs the fibers and, between them, the reactor.
        std::unique_lock lk(mutex_);
        all_done_.wait(lk, [this] { return stop_requested_ && alive_ == 0; });
    }
    // Let the dispatcher release the last terminated fibers (their stacks return to the cache) before the
    // cache goes away with this thread.
    boost::this_fiber::yield();
    tl_worker = nullptr;
}

void Worker::fiber_done()
{
    counters_.fibers_alive.store(--alive_, std::memory_order_relaxed);
    if (alive_ == 0 && stop_requested_)
        all_done_.notify_one();
}

void Worker::report_fiber_exception() noexcept
{
    try {
        throw;
    } catch (const std::exception& e) {
        log::error(std::string("fiber ended by exception: ") + e.what());
    } catch (...) {
        log::error("fiber ended by an unknown exception");
    }
}

void Worker::request_stop()
{
    boost::asio::post(io_, [this] {
        stop_requested_ = true;
        all_done_.notify_one();
    });
}

void Worker::join()
{
    if (thread_.joinable())
        thread_.join();
    work_.reset();
}

Runtime::Runtime(unsigned workers, const WorkerOptions& options)
{
    workers_.reserve(workers);
    for (unsigned i = 0; i < workers; ++i)
        workers_.push_back(std::make_unique<Worker>(i, options));
}

Runtime::~Runtime()
{
    stop();
    join();
}

Worker& Runtime::least_loaded()
{
    Worker* best = workers_.front().get();
    std::uint64_t best_n = best->counters().connections.load(std::memory_order_relaxed);
    for (auto& w : workers_) {
        const std::uint64_t n = w->counters().connections.load(std::memory_order_relaxed);
        if (n < best_n) {
            best = w.get();
            best_n = n;
        }
    }
    return *best;
}

void Runtime::start()
{
    for (auto& w : workers_)
        w->start();
}

void Runtime::stop()
{
    for (auto& w : workers_)
        w->request_stop();
}

void Runtime::join()
{
    for (auto& w : workers_)
        w->join();
}

} // namespace fleetscope::runtime
