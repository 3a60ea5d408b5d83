// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "core/runtime/scheduler.hpp"
#include "core/runtime/stack_cache.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/context/detail/exception.hpp>
#include <boost/fiber/condition_variable.hpp>
#include <boost/fiber/fiber.hpp>
#include <boost/fiber/mutex.hpp>

#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

namespace fleetscope::runtime {

/// Completions for a worker's fibers produced on other threads, delivered in batches: the first push of a
/// batch posts one drain to the worker's io_context, later pushes only append. Any thread pushes; the worker
/// drains.
class Inbox {
public:
    explicit Inbox(boost::asio::io_context& io)
        : io_(io)
    {}

    void push(void (*fn)(void*), void* arg)
    {
        bool first = false;
        {
            std::lock_guard lk(mutex_);
            items_.push_back({fn, arg});
            first = !posted_;
            posted_ = true;
        }
        if (first)
            boost::asio::post(io_, [this] { drain(); });
    }

private:
    struct Item {
        void (*fn)(void*);
        void* arg;
    };
    void drain()
    {
        {
            std::lock_guard lk(mutex_);
            draining_.swap(items_);
            posted_ = false;
        }
        for (const Item& i : draining_)
            i.fn(i.arg);
        draining_.clear();
    }

    boost::asio::io_context& io_;
    std::mutex mutex_;
    std::vector<Item> items_;    // guarded by mutex_
    bool posted_ = false;        // guarded by mutex_: a drain is queued
    std::vector<Item> draining_; // worker thread only
};

struct WorkerOptions {
    std::size_t stack_bytes = 64 * 1024;
    std::size_t stack_cache = 256;
};

/// One worker thread: its io_context (concurrency hint 1), its AsioScheduler, its stack cache and counters.
/// Owned by the Runtime. Other threads reach it only through post()/io(); fibers on it call spawn() directly.
class Worker {
public:
    Worker(unsigned index, const WorkerOptions& options);
    ~Worker();
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;

    unsigned index() const { return index_; }
    boost::asio::io_context& io() { return io_; }
    Inbox& inbox() { return inbox_; }
    const WorkerCounters& counters() const { return counters_; }
    WorkerCounters& counters() { return counters_; }

    /// Starts a fiber on this worker. Call on this worker's thread only (from a fiber or a handler of io()).
    template <class F>
    void spawn(F&& f)
    {
        counters_.fibers_alive.store(++alive_, std::memory_order_relaxed);
        boost::fibers::fiber(std::allocator_arg, CachedStack(*stacks_),
                             [this, fn = std::forward<F>(f)]() mutable {
                                 run_guarded(fn);
                                 fiber_done();
                             })
            .detach();
    }

    /// Starts a fiber on this worker from any thread.
    template <class F>
    void post_spawn(F&& f)
    {
        boost::asio::post(io_, [this, fn = std::forward<F>(f)]() mutable { spawn(std::move(fn)); });
    }

    /// The worker on whose thread the caller runs, or nullptr.
    static Worker* current();

    void start();
    /// Asks the main fiber to return once no fiber is left; the fibers themselves must be told to finish by
    /// whoever started them. Any thread.
    void request_stop();
    void join();

private:
    template <class F>
    static void run_guarded(F& fn)
    {
        try {
            fn();
        } catch (const boost::context::detail::forced_unwind&) {
            throw; // Boost.Context unwinds a fiber's stack with this; it must pass through
        } catch (...) {
            report_fiber_exception();
        }
    }
    static void report_fiber_exception() noexcept;
    void fiber_done();
    void run();

    unsigned index_;
    WorkerOptions options_;
    boost::asio::io_context io_{1};
    Inbox inbox_{io_};
    std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
    WorkerCounters counters_;
    std::unique_ptr<StackCache> stacks_; // created on the worker thread, destroyed after its fibers
    std::uint64_t alive_ = 0;            // worker thread only
    bool stop_requested_ = false;        // worker thread only
    boost::fibers::mutex mutex_;
    boost::fibers::condition_variable all_done_;
    std::thread thread_;
};

/// The M:N runtime: N workers, each running many fibers. Fibers never migrate; balance is done at placement.
/// Owned by the gateway's controlling thread.
class Runtime {
public:
    Runtime(unsigned workers, const WorkerOptions& options);
    ~Runtime(); // stop() + join()
    Runtime(const Runtime&) = delete;
    Runtime& operator=(const Runtime&) = delete;

    std::size_t size() const { return workers_.size(); }
    Worker& worker(std::size_t i) { return *workers_[i]; }
    const Worker& worker(std::size_t i) const { return *workers_[i]; }

    /// The worker with the fewest live connections (ties go to the lowest index). Any thread.
    Worker& least_loaded();

    void start();
    void stop(); // request_stop on every worker
    void join();

private:
    std::vector<std::unique_ptr<Worker>> workers_;
};

} // namespace fleetscope::runtime
