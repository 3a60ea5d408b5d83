// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// A fleet played in-process into a metrics::Subscription, for the UI benchmarks that time the views alone
// (bench_ui_frame) or profile them on a machine too busy for a real fleet (bench_ui_monitor --synthetic).

#include "core/metrics/hub.hpp"

#include <QDateTime>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#ifdef __linux__
#include <pthread.h>
#endif
#include <vector>

namespace fleetscope::bench {

/// Device i posts at phase i·interval/N, so the load is even, as with real devices whose clocks are not
/// aligned; a snapshot goes out every 100 ms, as the gateway's sampler sends them. Runs on its own thread,
/// the Subscription's single producer of both queues (the gateway's sampler and writer are two producers of
/// two queues; one thread feeding both keeps the SPSC contract too).
class SyntheticFleet {
public:
    SyntheticFleet(std::shared_ptr<metrics::Subscription> sub, int devices, std::int64_t interval_ms,
                   int metrics)
        : sub_(std::move(sub))
        , interval_ms_(interval_ms)
        , metrics_(metrics)
    {
        // Named as fleetscope-sim names them: unpadded, so the table's order by name is not the order of
        // the devices' phases, and each frame's updates land all over it, as with a real fleet.
        for (int i = 0; i < devices; ++i)
            names_.push_back("sim-" + std::to_string(i));
    }
    ~SyntheticFleet()
    {
        if (thread_.joinable())
            stop();
    }

    /// One sample of every device at once, to fill the table before measuring.
    void seed()
    {
        const std::int64_t now = QDateTime::currentMSecsSinceEpoch();
        for (std::size_t i = 0; i < names_.size(); ++i)
            push(i, now);
    }

    void start()
    {
        thread_ = std::thread([this] { run(); });
    }
    void stop()
    {
        stop_ = true;
        thread_.join();
    }
    std::uint64_t pushed() const { return pushed_; }

    /// The producer thread's name, so that a benchmark can leave it out of the monitor's threads.
    static constexpr const char* kThreadName = "synthetic-fleet";

private:
    void push(std::size_t i, std::int64_t now)
    {
        static constexpr const char* kNames[] = {"temp_c", "rssi", "battery_v", "cpu_pct", "uptime_s"};
        telemetry::Sample s;
        s.device = names_[i];
        s.ts_ms = now;
        for (int m = 0; m < metrics_; ++m) {
            const double wave =
                static_cast<double>((now / 100 + static_cast<std::int64_t>(i) + m) % 100) / 10.0;
            s.metrics.push_back(
                {m < 5 ? kNames[m] : "m" + std::to_string(m), m == 1 ? -50.0 - wave : 20.0 + wave});
        }
        sub_->push_update(s);
        ++pushed_;
    }

    void run()
    {
#ifdef __linux__
        pthread_setname_np(pthread_self(), kThreadName);
#endif
        const auto n = static_cast<std::int64_t>(names_.size());
        const std::int64_t start = QDateTime::currentMSecsSinceEpoch();
        std::int64_t posted = 0; // devices posted so far, over all rounds
        std::int64_t next_snapshot = start;
        metrics::Snapshot snap;
        snap.workers.resize(2);
        snap.listen_queue = 0;
        snap.listen_queue_limit = 4096;
        snap.listen_overflows = 0;
        snap.listen_drops = 0;
        snap.connection_ceiling = 19'980;
        snap.fd_limit = 20'000;
        while (!stop_) {
            const std::int64_t now = QDateTime::currentMSecsSinceEpoch();
            const std::int64_t due = (now - start) * n / interval_ms_;
            for (; posted < due; ++posted)
                push(static_cast<std::size_t>(posted % n), now);
            if (now >= next_snapshot) {
                snap.at_ms = now;
                snap.uptime_ms = now - start;
                snap.connections_open = static_cast<std::uint64_t>(n);
                snap.open_fds = static_cast<std::uint64_t>(n) + 20;
                snap.accepted_total = static_cast<std::uint64_t>(n);
                snap.responses_by_class[2] = static_cast<std::uint64_t>(posted);
                snap.samples_committed = static_cast<std::uint64_t>(posted);
                snap.ack_p50_ms = 1.2;
                snap.ack_p99_ms = 4.5;
                for (auto& w : snap.workers) {
                    w.context_switches += 800;
                    w.idle_ns += 70'000'000;
                    w.fibers_alive = static_cast<std::uint64_t>(n / 2);
                    w.ready_depth = static_cast<std::uint32_t>(posted % 7);
                }
                snap.store_queue = static_cast<std::uint64_t>(posted % 300);
                snap.store_last_batch = 750;
                snap.rss_bytes = 120ull << 20;
                sub_->push_snapshot(snap);
                next_snapshot += 100;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
    }

    std::shared_ptr<metrics::Subscription> sub_;
    std::int64_t interval_ms_;
    int metrics_;
    std::vector<std::string> names_;
    std::thread thread_;
    std::atomic<bool> stop_{false};
    std::atomic<std::uint64_t> pushed_{0};
};

} // namespace fleetscope::bench
