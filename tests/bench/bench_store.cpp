// SPDX-License-Identifier: GPL-3.0-or-later
// Committed samples/s of the store's group commit, as the gateway drives it: N simulated connections, each
// with one request (1 sample x 2 metrics) in flight that waits for its commit before the next is submitted,
// so the writer's batches hold up to N requests. Prints one line per N; fails when a sample is lost, a batch
// fails, or an optimised build falls below a floor that only a regression would reach.
//
//   bench_store [seconds-per-case=2] [devices=256] [N ...=16 256 1024]
#include "core/store/store.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {
using namespace fleetscope;

#ifdef NDEBUG
constexpr double kFloorSamplesPerCpuSecond = 20'000;
#else
constexpr double kFloorSamplesPerCpuSecond = 0;
#endif
constexpr int kProducers = 2;

// Process CPU time (writer and producers): the machine is shared, and wall time alone would charge other
// processes' time slices to the store.
double cpu_seconds()
{
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

/// A window of `slots` requests in flight, released by commit callbacks on the writer thread. A producer that
/// finds it full sleeps until a quarter of it is free again, so that the harness does not pay one thread
/// wake-up per request (the gateway's workers likewise resume many fibers per wake-up).
class Window {
public:
    explicit Window(int slots)
        : free_(slots)
        , slots_(slots)
        , resume_at_(std::max(1, slots / 4))
    {}
    void acquire()
    {
        std::unique_lock lock(m_);
        if (free_ == 0)
            cv_.wait(lock, [&] { return free_ >= resume_at_; });
        --free_;
    }
    void release()
    {
        bool wake;
        {
            std::lock_guard lock(m_);
            ++free_;
            wake = free_ == resume_at_ || free_ == slots_;
        }
        if (wake)
            cv_.notify_all();
    }
    void wait_all()
    {
        std::unique_lock lock(m_);
        cv_.wait_for(lock, std::chrono::seconds(30), [&] { return free_ == slots_; });
    }

private:
    std::mutex m_;
    std::condition_variable cv_;
    int free_;
    const int slots_;
    const int resume_at_;
};

struct Result {
    double samples_per_s = 0;
    double samples_per_cpu_s = 0;
    double mean_batch = 0;
    std::uint64_t committed = 0;
    bool ok = true;
};

Result run_case(const std::filesystem::path& dir, int inflight, int devices, double seconds)
{
    const std::string path = (dir / ("bench-" + std::to_string(inflight) + ".db")).string();
    store::Options opt;
    opt.path = path;
    Result r;
    std::atomic<std::uint64_t> not_committed{0};
    std::atomic<std::uint64_t> submitted{0};
    {
        store::Store s(opt);
        Window window(inflight);
        std::atomic<bool> running{true};
        const double c0 = cpu_seconds();
        const auto t0 = std::chrono::steady_clock::now();
        std::vector<std::thread> producers;
        for (int p = 0; p < kProducers; ++p) {
            producers.emplace_back([&, p] {
                std::int64_t ts = 1'732'630'000'000;
                for (std::uint64_t i = static_cast<std::uint64_t>(p); running.load(std::memory_order_relaxed);
                     i += kProducers) {
                    window.acquire();
                    std::vector<telemetry::Sample> samples(1);
                    samples[0].device = "dev-" + std::to_string(i % static_cast<std::uint64_t>(devices));
                    samples[0].ts_ms =
                        ts + static_cast<std::int64_t>(i / static_cast<std::uint64_t>(devices));
                    samples[0].metrics = {{"temp_c", 21.5 + static_cast<double>(i % 10)}, {"rssi", -67}};
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
        std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
        running = false;
        for (auto& t : producers)
            t.join();
        window.wait_all();
        const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        const double cpu = cpu_seconds() - c0;
        const store::StoreStats st = s.stats();
        r.committed = st.committed_samples;
        r.samples_per_s = static_cast<double>(st.committed_samples) / wall;
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
    std::filesystem::remove(path);
    std::filesystem::remove(path + "-wal");
    std::filesystem::remove(path + "-shm");
    return r;
}

} // namespace

int main(int argc, char** argv)
{
    const double seconds = argc > 1 ? std::atof(argv[1]) : 2.0;
    const int devices = argc > 2 ? std::atoi(argv[2]) : 256;
    std::vector<int> cases;
    for (int i = 3; i < argc; ++i)
        cases.push_back(std::atoi(argv[i]));
    if (cases.empty())
        cases = {16, 256, 1024};

    const auto dir = std::filesystem::temp_directory_path() /
                     ("fleetscope-bench-store-" + std::to_string(static_cast<long>(::getpid())));
    std::filesystem::create_directories(dir);
    bool ok = true;
    for (const int n : cases) {
        const Result r = run_case(dir, n, devices, seconds);
        std::printf("bench_store: %5d in flight, %d devices, 1 sample x 2 metrics: %8.0f samples/s committed "
                    "(%8.0f per CPU-second), mean batch %.0f samples\n",
                    n, devices, r.samples_per_s, r.samples_per_cpu_s, r.mean_batch);
        if (!r.ok)
            ok = false;
        if (r.samples_per_cpu_s < kFloorSamplesPerCpuSecond) {
            std::fprintf(stderr, "below the floor of %.0f samples per CPU-second\n",
                         kFloorSamplesPerCpuSecond);
            ok = false;
        }
    }
    std::filesystem::remove_all(dir);
    return ok ? 0 : 1;
}
