// SPDX-License-Identifier: GPL-3.0-or-later
// The controller: checks the options, prepares the session, starts one io_context thread per worker, ramps
// the fleet up, opens the start gate, waits out the phases while reporting progress, and merges the workers'
// tallies into the report.
#include "core/sim/simulator.hpp"

#include "core/metrics/system.hpp"
#include "core/sim/device.hpp"
#include "core/sim/phases.hpp"
#include "core/sim/session.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>
#include <exception>
#include <thread>

namespace fleetscope::sim {

namespace asio = boost::asio;

namespace {

// RLIMIT_NOFILE, raised to its hard limit; an error when the run cannot fit under it.
util::Result<void> check_fd_limit(const Options& o, Report& r)
{
    const std::int64_t limit = metrics::raise_fd_limit();
    r.fd_limit = limit < 0 ? UINT64_MAX : static_cast<std::uint64_t>(limit);
    if (o.connections + kFdReserve <= r.fd_limit)
        return {};
    return util::fail("--connections " + std::to_string(o.connections) + " needs about " +
                      std::to_string(o.connections + kFdReserve) +
                      " file descriptors, but this process may open at most " + std::to_string(r.fd_limit) +
                      " (RLIMIT_NOFILE hard limit): use at most " +
                      std::to_string(r.fd_limit > kFdReserve ? r.fd_limit - kFdReserve : 0) +
                      " connections, or raise the hard limit (ulimit -Hn, limits.conf, systemd LimitNOFILE)");
}

} // namespace

Report run(const Options& options, const ProgressCallback& progress)
{
    Report report;
    report.options = options;
    if (auto valid = validate(options); !valid) {
        report.fatal = valid.error();
        return report;
    }
    if (auto fits = check_fd_limit(options, report); !fits) {
        report.fatal = fits.error();
        return report;
    }
    Session s;
    if (auto prepared = s.prepare(options, report); !prepared) {
        report.fatal = prepared.error();
        return report;
    }
    for (std::size_t i = 0; i < options.connections; ++i)
        if (const Fault f = fault_of(options.seed, options.faulty, i); f != Fault::none)
            ++report.faults[f];

    const unsigned threads =
        options.threads ? options.threads : std::max(1u, std::thread::hardware_concurrency());
    report.threads = threads;
    for (unsigned i = 0; i < threads; ++i) {
        s.workers.push_back(std::make_unique<Worker>());
        s.workers.back()->source_connects.assign(s.sources.size(), 0);
    }

    std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
    std::vector<std::thread> pool;
    for (auto& w : s.workers) {
        guards.push_back(asio::make_work_guard(w->io));
        pool.emplace_back([&io = w->io] { io.run(); });
    }

    // Ramp: spawn every device, bounded by connects in flight and by the optional rate.
    const auto ramp_start = Clock::now();
    const double cpu_start = metrics::process_cpu_seconds();
    std::size_t launched = 0;
    auto spawn_some = [&] {
        const auto now = Clock::now();
        while (launched < options.connections &&
               s.connecting.load(std::memory_order_relaxed) < options.max_connecting) {
            if (options.ramp_rate > 0) {
                const auto due =
                    ramp_start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(
                                     static_cast<double>(launched) / options.ramp_rate));
                if (due > now)
                    break;
            }
            Worker& w = *s.workers[launched % threads];
            s.connecting.fetch_add(1, std::memory_order_relaxed);
            asio::co_spawn(w.io, device_main(s, w, launched), [&s, &w](const std::exception_ptr& e) {
                if (e) {
                    try {
                        std::rethrow_exception(e);
                    } catch (const std::exception& ex) {
                        ++w.errors.other;
                        ++w.error_messages[std::string("unexpected: ") + ex.what()];
                    }
                }
                s.finished.fetch_add(1, std::memory_order_relaxed);
                s.notify();
            });
            ++launched;
        }
    };
    wait_reporting(
        s, Phase::ramp, ramp_start, progress,
        [&] { return s.ramped.load(std::memory_order_relaxed) >= options.connections; }, spawn_some,
        std::chrono::milliseconds(options.ramp_rate > 0 ? 5 : 100));
    report.ramp_seconds = seconds_between(ramp_start, Clock::now());

    // Open the gate on every worker. Posting keeps each worker's gate state on its own thread.
    const auto start = Clock::now();
    const double cpu_run_start = metrics::process_cpu_seconds();
    for (auto& w : s.workers) {
        asio::post(w->io, [&w = *w, start] {
            w.start = start;
            w.gate_open = true;
            w.gate.cancel();
        });
    }
    auto all_finished = [&] { return s.finished.load(std::memory_order_relaxed) >= options.connections; };
    if (options.mode == Mode::hold) {
        // The check begins when the hold ends; the measured window is the check alone.
        const auto check_start = start + options.hold;
        wait_reporting(s, Phase::hold, ramp_start, progress,
                       [&] { return Clock::now() >= check_start || all_finished(); });
        wait_reporting(s, Phase::check, ramp_start, progress, all_finished);
        report.run_seconds = seconds_between(check_start, Clock::now());
    } else {
        wait_reporting(s, Phase::run, ramp_start, progress, all_finished);
        report.run_seconds = seconds_between(start, Clock::now());
    }

    guards.clear();
    for (auto& t : pool)
        t.join();
    report.wall_seconds = seconds_between(ramp_start, Clock::now());
    const double cpu_end = metrics::process_cpu_seconds();
    report.cpu_seconds = cpu_end - cpu_start;
    report.run_cpu_seconds = cpu_end - cpu_run_start;

    LatencyCounts latency;
    std::uint64_t latency_max_ns = 0;
    report.source_connects.assign(s.sources.size(), 0);
    for (const auto& w : s.workers) {
        w->add_to(report);
        latency += w->latency.counts();
        latency_max_ns = std::max(latency_max_ns, w->latency_max_ns);
    }
    report.latency = summarize(latency, latency_max_ns);
    if (report.run_seconds > 0) {
        report.achieved_rps = static_cast<double>(report.responses) / report.run_seconds;
        report.ok_rps = static_cast<double>(report.ok) / report.run_seconds;
    }
    if (options.mode == Mode::open) {
        // What the fleet asked of the gateway: silent devices' slots were never meant to be sent.
        const double duration_s = std::chrono::duration<double>(options.duration).count();
        report.target_rps = static_cast<double>(options.connections) * 1000.0 /
                                static_cast<double>(options.interval.count()) -
                            static_cast<double>(report.silent) / duration_s;
    }

    if (progress) {
        Progress p = tally(s, Phase::done, Clock::now(), ramp_start);
        p.phase_started = true;
        progress(p);
    }
    return report;
}

} // namespace fleetscope::sim
