// SPDX-License-Identifier: GPL-3.0-or-later
// What alert rules cost. (1) Evaluation per committed sample with 100 rules over 15,000 devices, as the
// writer thread calls it (one request of one sample at a time), and a sampler tick's stale scan over those
// devices. (2) Committed throughput of an in-process gateway under the same closed-loop load from the fleet
// simulator, without rules and with the same 100 rules, alternated in one invocation; prints the ratio.
// Fails when evaluation costs more than a bound only a regression reaches, or a run had errors.
//
//   bench_alerts [seconds-per-run=3] [pairs=3] [connections=256]
//   bench_alerts --write-rules PATH     (the 100 rules as a rules file, for tests/bench/alerts-cost.sh)
#include "core/alerts/alerts.hpp"
#include "core/gateway.hpp"
#include "core/sim/simulator.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <unistd.h>
#include <vector>

namespace {
using namespace fleetscope;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kRules = 100;
constexpr std::size_t kDevices = 15'000;
#ifdef NDEBUG
constexpr double kMaxNsPerSample = 3'000;
#else
constexpr double kMaxNsPerSample = 1e9;
#endif

/// 100 rules over the simulator's metric names and device ids ("sim-<n>", values uniform in [0, 1000)):
/// mostly idle thresholds of every condition, a tenth that raise on about 0.1% of samples and clear on 10%
/// (alert traffic, persisted), a few stale and gateway rules. Globs vary so each device matches a subset.
std::vector<alerts::Rule> hundred_rules()
{
    static constexpr const char* kMetrics[] = {"temp_c", "rssi", "battery_v", "cpu_pct"};
    static constexpr const char* kGlobs[] = {"*", "sim-*", "sim-1*", "sim-?2*", "sim-*7"};
    std::vector<alerts::Rule> rules;
    for (std::size_t i = 0; i < kRules; ++i) {
        alerts::Rule r;
        r.name = "r" + std::to_string(i);
        r.devices = kGlobs[i % std::size(kGlobs)];
        r.metric = kMetrics[i % std::size(kMetrics)];
        r.severity = static_cast<alerts::Severity>(i % 3);
        switch (i % 10) {
        case 0:
            r.threshold = 999;
            r.clear = 100;
            break;
        case 1:
            r.condition = alerts::Condition::below;
            r.threshold = -1;
            break;
        case 2:
            r.condition = alerts::Condition::outside;
            r.low = -1;
            r.high = 1001;
            break;
        case 3:
            r.condition = alerts::Condition::rate_above;
            r.threshold = 1e9;
            break;
        case 4:
            r.threshold = 5000;
            r.hold = Millis(10'000);
            break;
        case 5:
            r.kind = alerts::RuleKind::stale;
            r.silence = Millis(600'000);
            break;
        case 6:
            r.kind = alerts::RuleKind::gateway;
            r.signal = static_cast<alerts::Signal>(i / 10 % 7);
            r.threshold = 1e9;
            if (r.signal == alerts::Signal::listen_queue_share ||
                r.signal == alerts::Signal::connections_share)
                r.threshold = 1;
            break;
        default:
            r.threshold = 1e6;
            break;
        }
        rules.push_back(std::move(r));
    }
    return rules;
}

/// This thread's CPU time in ns: the machine is shared, and wall time would charge other processes' time
/// slices to the engine.
double thread_cpu_ns()
{
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

/// Process CPU seconds (gateway and simulator threads together).
double process_cpu_s()
{
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[v.size() / 2];
}

int evaluation_cost()
{
    alerts::Engine engine;
    if (auto applied = engine.set_rules(hundred_rules(), 0); !applied) {
        std::printf("rules invalid: %s\n", applied.error().c_str());
        return 1;
    }
    // One sample per request, 4 metrics, as fleetscope-sim sends; same value generator.
    std::vector<telemetry::Sample> samples(kDevices);
    std::uint64_t rng = 0x9E3779B97F4A7C15ull;
    auto next = [&] {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        return static_cast<double>(rng % 100'000) / 100.0;
    };
    for (std::size_t d = 0; d < kDevices; ++d) {
        samples[d].device = "sim-" + std::to_string(d);
        for (const char* m : {"temp_c", "rssi", "battery_v", "cpu_pct"})
            samples[d].metrics.push_back({m, 0});
    }
    std::int64_t now = 1'000'000;
    auto round = [&] {
        for (auto& s : samples) {
            for (auto& m : s.metrics)
                m.value = next();
            s.ts_ms = ++now;
        }
        const double t0 = thread_cpu_ns();
        for (const auto& s : samples)
            engine.on_samples(std::span(&s, 1), s.ts_ms);
        return thread_cpu_ns() - t0;
    };
    const double first = round() / kDevices; // devices seen for the first time: globs matched here
    constexpr int kRounds = 40;
    double total = 0;
    for (int i = 0; i < kRounds; ++i)
        total += round();
    const double per_sample = total / (kRounds * static_cast<double>(kDevices));

    metrics::Snapshot snap;
    snap.workers.resize(2);
    constexpr int kTicks = 200;
    const double t0 = thread_cpu_ns();
    for (int i = 0; i < kTicks; ++i) {
        snap.at_ms = now + i * 100;
        engine.on_snapshot(snap);
    }
    const double tick_us = (thread_cpu_ns() - t0) / 1000.0 / kTicks;
    const auto counts = engine.active_counts();

    std::printf(
        "evaluation (thread CPU time): %zu rules, %zu devices, 4 metrics per sample: %.0f ns/sample steady "
        "(%.0f ns/sample on first sight); sampler tick (gateway + stale rules over %zu devices): "
        "%.1f us; active alerts now %llu/%llu/%llu (info/warning/critical)\n",
        kRules, kDevices, per_sample, first, kDevices, tick_us, static_cast<unsigned long long>(counts[0]),
        static_cast<unsigned long long>(counts[1]), static_cast<unsigned long long>(counts[2]));
    if (per_sample > kMaxNsPerSample) {
        std::printf("FAIL: %.0f ns/sample is over %.0f\n", per_sample, kMaxNsPerSample);
        return 1;
    }
    return 0;
}

struct RunResult {
    double ok_rps = 0;
    double ok_per_cpu_s = 0; // committed requests per CPU second of this process (gateway and simulator)
    double p99_ms = 0;
    std::uint64_t alert_events = 0;
    bool clean = true;
};

RunResult closed_loop(const std::filesystem::path& dir, bool with_rules, int index, Millis duration,
                      std::size_t connections)
{
    Settings s;
    s.listen = "127.0.0.1:0";
    s.db_path = (dir / ("run" + std::to_string(index) + ".db")).string();
    s.alert_rules = (dir / (with_rules ? "alerts.json" : "none.json")).string();
    Gateway g(s);
    g.start();
    auto feed = g.alerts().subscribe(1 << 16);

    sim::Options o;
    o.target = g.listening_address();
    o.connections = connections;
    o.mode = sim::Mode::closed;
    o.duration = duration;
    o.metrics = 4;
    const double cpu0 = process_cpu_s();
    const sim::Report r = sim::run(o);
    const double cpu = process_cpu_s() - cpu0;
    g.stop();
    RunResult out;
    out.ok_rps = r.ok_rps;
    // The simulator's ramp and drain are in `cpu` too, a small share of a closed-loop run.
    out.ok_per_cpu_s = cpu > 0 ? static_cast<double>(r.ok) / cpu : 0;
    out.p99_ms = r.latency.p99_ms;
    out.clean = r.fatal.empty() && r.errors.total() == 0 && r.ok == r.responses;
    alerts::AlertEvent e;
    while (feed->pop(e))
        ++out.alert_events;
    out.alert_events += feed->dropped();
    if (!out.clean)
        std::printf("run %d: %s errors %llu, %llu of %llu responses ok\n", index, r.fatal.c_str(),
                    static_cast<unsigned long long>(r.errors.total()), static_cast<unsigned long long>(r.ok),
                    static_cast<unsigned long long>(r.responses));
    return out;
}

} // namespace

int main(int argc, char** argv)
{
    if (argc == 3 && std::string_view(argv[1]) == "--write-rules") {
        // For tests/bench/alerts-cost.sh: the same 100 rules for the headless gateway.
        const auto saved = alerts::save_rules(argv[2], hundred_rules());
        if (!saved)
            std::printf("%s\n", saved.error().c_str());
        return saved ? 0 : 1;
    }
    const int seconds = argc > 1 ? std::atoi(argv[1]) : 3;
    const int pairs = argc > 2 ? std::atoi(argv[2]) : 3;
    const std::size_t connections = argc > 3 ? static_cast<std::size_t>(std::atoll(argv[3])) : 256;

    int rc = evaluation_cost();
    if (pairs <= 0)
        return rc;

    char tmpl[] = "/tmp/bench_alerts.XXXXXX";
    const char* dir_c = mkdtemp(tmpl);
    if (!dir_c) {
        std::printf("cannot create a temporary folder\n");
        return 1;
    }
    const std::filesystem::path dir(dir_c);
    const auto saved = alerts::save_rules((dir / "alerts.json").string(), hundred_rules());
    if (!saved) {
        std::printf("cannot save rules: %s\n", saved.error().c_str());
        return 1;
    }

    std::vector<double> off, on, off_cpu, on_cpu;
    std::uint64_t events = 0;
    for (int i = 0; i < 2 * pairs; ++i) {
        // off, on, on, off, off, on...: neither side always runs first or last in a pair.
        const bool with_rules = (i % 4 == 1 || i % 4 == 2);
        const RunResult r = closed_loop(dir, with_rules, i, std::chrono::seconds(seconds), connections);
        (with_rules ? on : off).push_back(r.ok_rps);
        (with_rules ? on_cpu : off_cpu).push_back(r.ok_per_cpu_s);
        if (with_rules)
            events += r.alert_events;
        std::printf(
            "run %d %-10s %8.0f committed req/s, %8.0f per CPU second, p99 %.2f ms, %llu alert events\n", i,
            with_rules ? "100 rules" : "no rules", r.ok_rps, r.ok_per_cpu_s, r.p99_ms,
            static_cast<unsigned long long>(r.alert_events));
        if (!r.clean)
            rc = 1;
    }
    const double m_off = median(off), m_on = median(on);
    const double c_off = median(off_cpu), c_on = median(on_cpu);
    std::printf(
        "closed loop, %zu connections x %d s, %d pairs: median %.0f req/s without rules, %.0f with 100 "
        "rules: ratio %.3f (cost %.1f%%); %llu alert events raised/cleared under load\n",
        connections, seconds, pairs, m_off, m_on, m_off > 0 ? m_on / m_off : 0,
        m_off > 0 ? 100.0 * (1 - m_on / m_off) : 0, static_cast<unsigned long long>(events));
    std::printf(
        "per CPU second (robust on a shared machine): median %.0f without rules, %.0f with: ratio %.3f "
        "(cost %.1f%%)\n",
        c_off, c_on, c_off > 0 ? c_on / c_off : 0, c_off > 0 ? 100.0 * (1 - c_on / c_off) : 0);
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    return rc;
}
