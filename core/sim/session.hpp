// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// Internal to core/sim: the state one run shares between its controller thread (`run`) and its io_context
// threads.
#include "core/sim/latency.hpp"
#include "core/sim/report.hpp"
#include "core/util/result.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace fleetscope::sim {

using Clock = std::chrono::steady_clock;

// Sockets and timers bound to the concrete io_context executor: the type-erased any_io_executor costs a copy
// and an indirection on every operation, and the simulator must stay cheaper than the gateway it measures.
using Executor = boost::asio::io_context::executor_type;
using Timer = boost::asio::basic_waitable_timer<Clock, boost::asio::wait_traits<Clock>, Executor>;

/// Everything one io_context thread owns. The device coroutines spawned on `io` are the only writers; the
/// controller thread reads the atomics for progress and the rest only after the thread has been joined.
struct alignas(64) Worker {
    boost::asio::io_context io{1};

    // The start gate: devices that finished their ramp step wait here until the controller opens it.
    Timer gate{io.get_executor()};
    bool gate_open = false;
    Clock::time_point start{}; // beginning of the run (or the hold), set when the gate opens

    LatencyHistogram latency;
    std::uint64_t latency_max_ns = 0;
    std::map<int, std::uint64_t> status;
    ErrorCounts errors;
    std::map<std::string, std::uint64_t> error_messages;
    std::vector<std::uint64_t> source_connects;
    std::uint64_t sent = 0;
    std::uint64_t unsent = 0;
    std::uint64_t silent = 0;
    std::uint64_t reconnects = 0;
    std::uint64_t held = 0;
    std::uint64_t hold_answered = 0;
    std::uint64_t hold_failed = 0;

    std::atomic<std::uint64_t> opened{0};
    std::atomic<std::uint64_t> failed{0};
    std::atomic<std::uint64_t> refused{0};
    std::atomic<std::uint64_t> responses{0}; // measured window only
    std::atomic<std::uint64_t> ok{0};
    std::atomic<std::uint64_t> request_errors{0};

    // A timer that never expires by itself: its waits end only when the gate opens and cancels them.
    Worker() { gate.expires_at(Timer::time_point::max()); }

    /// Adds this worker's tallies to `r`. Only once the worker's thread has been joined.
    void add_to(Report& r) const;
};

/// State shared by the controller and every worker. Immutable during the run except the atomics and the
/// condition variable that lets workers wake the controller.
struct Session {
    Options opt;
    std::string host; // of --target: the name the gateway's certificate must carry
    bool sni = false; // `host` is a name, not an address: send it as the TLS server name
    std::unique_ptr<boost::asio::ssl::context> tls;
    boost::asio::ip::tcp::endpoint target;
    std::vector<boost::asio::ip::address> sources;
    std::vector<std::unique_ptr<Worker>> workers;

    std::atomic<std::size_t> connecting{0}; // ramp steps in flight (connect, and hold's first post)
    std::atomic<std::size_t> ramped{0};     // devices past their ramp step (opened or failed)
    std::atomic<std::size_t> finished{0};   // device coroutines that returned

    std::mutex mutex;
    std::condition_variable wake;

    /// Resolves the target, makes the TLS context and chooses the source addresses, filling `r`'s target
    /// and sources. Nothing, or what stops the run.
    util::Result<void> prepare(const Options& o, Report& r);

    /// Any thread: wakes the controller to re-check what it waits for.
    void notify()
    {
        // Taking the lock orders this notification after the controller's predicate check: no lost wake-up.
        {
            std::lock_guard lock(mutex);
        }
        wake.notify_one();
    }
};

} // namespace fleetscope::sim
