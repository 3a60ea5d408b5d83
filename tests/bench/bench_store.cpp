// SPDX-License-Identifier: GPL-3.0-or-later
// The store's write path as the gateway drives it: N simulated connections, each with one request (1 sample x
// M metrics) in flight that waits for its commit before the next is submitted, so the writer's batches hold
// up to N requests. Per case it prints committed samples/s, and the CPU time of each store thread (read from
// /proc/self/task/*/schedstat, by thread name) per request: the writer's is what every commit waits behind,
// the others' (compaction, checkpoints) is what the store costs the machine besides. Fails when a sample is
// lost, a batch fails, or an optimised build falls below a floor that only a regression would reach.
//
//   bench_store [seconds-per-case=2] [devices=256] [N ...=16 256 1024] [--metrics M=2] [--requests R]
//
// --requests R submits exactly R requests per case instead of running for a time, so that an instruction
// count (valgrind --tool=callgrind --separate-threads=yes) is repeatable.
#include "core/store/store.hpp"
#include "submit_window.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {
using namespace fleetscope;
namespace fs = std::filesystem;

#ifdef NDEBUG
constexpr double kFloorSamplesPerCpuSecond = 20'000;
#else
constexpr double kFloorSamplesPerCpuSecond = 0;
#endif
constexpr int kProducers = 2;

// Process CPU time (writer and producers): the machine is shared, and wall time alone would charge other
// processes' time slices to the store.
double cpu_seconds(clockid_t clock = CLOCK_PROCESS_CPUTIME_ID)
{
    timespec ts{};
    clock_gettime(clock, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

/// CPU nanoseconds of every thread of this process whose name starts with "store-", by name (threads of one
/// name summed). schedstat's first field is the time on CPU in ns, far finer than stat's clock ticks.
std::map<std::string, double> store_thread_cpu_ns()
{
    std::map<std::string, double> out;
    std::error_code ec;
    for (const auto& task : fs::directory_iterator("/proc/self/task", ec)) {
        std::string name;
        std::getline(std::ifstream(task.path() / "comm"), name);
        if (name.rfind("store-", 0) != 0)
            continue;
        double ns = 0;
        std::ifstream(task.path() / "schedstat") >> ns;
        out[name] += ns;
    }
    return out;
}

using Window = bench::SubmitWindow;

struct Config {
    double seconds = 2.0;
    int devices = 256;
    int metrics = 2;
    std::uint64_t requests = 0; // 0: run for `seconds`
    std::vector<int> inflight;
};

struct Result {
    double samples_per_s = 0;
    double sustained_per_s = 0; // committed over the run and the stop that finishes its compaction
    double samples_per_cpu_s = 0;
    double store_cpu_s = 0; // every store thread, until stopped
    double mean_batch = 0;
    std::uint64_t committed = 0;
    std::map<std::string, double> thread_ns; // CPU of each store thread during the case
    bool ok = true;
};

Result run_case(const fs::path& dir, int inflight, const Config& cfg)
{
    const std::string path = (dir / ("bench-" + std::to_string(inflight) + ".db")).string();
    store::Options opt;
    opt.path = path;
    Result r;
    std::atomic<std::uint64_t> not_committed{0};
    std::atomic<std::uint64_t> submitted{0};
    std::vector<std::string> metric_names;
    for (int m = 0; m < cfg.metrics; ++m)
        metric_names.push_back(m == 0 ? "temp_c" : m == 1 ? "rssi" : "m" + std::to_string(m));
    {
        const auto opened = store::open_store(opt);
        store::Writer& s = opened->writer();
        Window window(inflight);
        std::atomic<bool> running{true};
        std::atomic<std::uint64_t> next{0};
        std::mutex producers_mutex;
        double producers_cpu = 0;
        const auto threads0 = store_thread_cpu_ns();
        const double c0 = cpu_seconds();
        const auto t0 = std::chrono::steady_clock::now();
        std::vector<std::thread> producers;
        for (int p = 0; p < kProducers; ++p) {
            producers.emplace_back([&] {
                struct Charge {
                    std::mutex& m;
                    double& total;
                    ~Charge()
                    {
                        const double mine = cpu_seconds(CLOCK_THREAD_CPUTIME_ID);
                        std::lock_guard lock(m);
                        total += mine;
                    }
                } charge{producers_mutex, producers_cpu};
                const std::int64_t ts = 1'732'630'000'000;
                const auto devices = static_cast<std::uint64_t>(cfg.devices);
                for (;;) {
                    if (!running.load(std::memory_order_relaxed))
                        break;
                    const std::uint64_t i = next.fetch_add(1, std::memory_order_relaxed);
                    if (cfg.requests != 0 && i >= cfg.requests)
                        break;
                    window.acquire();
                    std::vector<telemetry::Sample> samples(1);
                    samples[0].device = "dev-" + std::to_string(i % devices);
                    samples[0].ts_ms = ts + static_cast<std::int64_t>(i / devices);
                    for (int m = 0; m < cfg.metrics; ++m)
                        samples[0].metrics.push_back({metric_names[static_cast<std::size_t>(m)],
                                                      21.5 + static_cast<double>((i + m) % 10)});
                    const bool accepted = s.submit(std::move(samples), [&](store::CommitStatus st) {
                        if (st != store::CommitStatus::committed)
                            not_committed.fetch_add(1);
                        window.release();
                    });
                    if (!accepted) {
                        not_committed.fetch_add(1);
                        window.release();
                    }
                    submitted.fetch_add(1, std::memory_order_relaxed);
                }
            });
        }
        if (cfg.requests == 0) {
            std::this_thread::sleep_for(std::chrono::duration<double>(cfg.seconds));
            running = false;
        }
        for (auto& t : producers)
            t.join();
        window.wait_all(std::chrono::seconds(60));
        const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        const auto threads1 = store_thread_cpu_ns();
        for (const auto& [name, ns] : threads1) {
            const auto before = threads0.find(name);
            r.thread_ns[name] = ns - (before == threads0.end() ? 0.0 : before->second);
        }
        const store::StoreStats st = s.stats();
        s.stop();
        const double total_wall =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        const double cpu = cpu_seconds() - c0;
        // The main thread only sleeps and waits, but for stop(), which finishes the compaction: store work.
        r.store_cpu_s = cpu - producers_cpu;
        r.committed = st.committed_samples;
        r.samples_per_s = static_cast<double>(st.committed_samples) / wall;
        r.sustained_per_s = static_cast<double>(st.committed_samples) / total_wall;
        r.samples_per_cpu_s = static_cast<double>(st.committed_samples) / cpu;
        r.mean_batch =
            st.batches ? static_cast<double>(st.committed_samples) / static_cast<double>(st.batches) : 0;
        r.ok =
            st.failed_batches == 0 && not_committed.load() == 0 && st.committed_samples == submitted.load();
        if (!r.ok)
            std::fprintf(stderr,
                         "lost work: submitted %llu, committed %llu, failed batches %llu, refused %llu\n",
                         static_cast<unsigned long long>(submitted.load()),
                         static_cast<unsigned long long>(st.committed_samples),
                         static_cast<unsigned long long>(st.failed_batches),
                         static_cast<unsigned long long>(not_committed.load()));
    }
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec))
        fs::remove(entry.path(), ec);
    return r;
}

} // namespace

int main(int argc, char** argv)
{
    Config cfg;
    std::vector<std::string_view> positional;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        if ((a == "--metrics" || a == "--requests") && i + 1 < argc) {
            const auto v = std::strtoull(argv[++i], nullptr, 10);
            if (a == "--metrics")
                cfg.metrics = std::max(1, static_cast<int>(v));
            else
                cfg.requests = v;
        } else {
            positional.push_back(a);
        }
    }
    if (!positional.empty())
        cfg.seconds = std::atof(positional[0].data());
    if (positional.size() > 1)
        cfg.devices = std::max(1, std::atoi(positional[1].data()));
    for (std::size_t i = 2; i < positional.size(); ++i)
        cfg.inflight.push_back(std::max(1, std::atoi(positional[i].data())));
    if (cfg.inflight.empty())
        cfg.inflight = {16, 256, 1024};

    const auto dir = fs::temp_directory_path() /
                     ("fleetscope-bench-store-" + std::to_string(static_cast<long>(::getpid())));
    fs::create_directories(dir);
    bool ok = true;
    for (const int n : cfg.inflight) {
        const Result r = run_case(dir, n, cfg);
        const double samples = static_cast<double>(std::max<std::uint64_t>(1, r.committed));
        std::printf(
            "bench_store: %5d in flight, %d devices, 1 sample x %d metrics: %8.0f samples/s committed "
            "(%8.0f sustained, %8.0f per CPU-second), mean batch %.0f samples\n",
            n, cfg.devices, cfg.metrics, r.samples_per_s, r.sustained_per_s, r.samples_per_cpu_s,
            r.mean_batch);
        // One sample per request: per request and per sample are the same figure here.
        std::string threads;
        for (const auto& [name, ns] : r.thread_ns) {
            char part[96];
            std::snprintf(part, sizeof part, "%s%s %.2f", threads.empty() ? "" : ", ", name.c_str(),
                          ns / 1e3 / samples);
            threads += part;
        }
        std::printf("bench_store: %5d in flight: CPU us per request while running: %s; whole store until "
                    "stopped %.2f\n",
                    n, threads.c_str(), r.store_cpu_s * 1e6 / samples);
        if (!r.ok)
            ok = false;
        if (r.samples_per_cpu_s < kFloorSamplesPerCpuSecond) {
            std::fprintf(stderr, "below the floor of %.0f samples per CPU-second\n",
                         kFloorSamplesPerCpuSecond);
            ok = false;
        }
    }
    fs::remove_all(dir);
    return ok ? 0 : 1;
}
