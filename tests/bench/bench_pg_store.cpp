// SPDX-License-Identifier: GPL-3.0-or-later
// The PostgreSQL store's group commit against a real PostgreSQL 15 started here (tests/support), as the
// gateway drives it: N simulated connections, each with one request (1 sample x 2 metrics) in flight that
// waits for its commit before the next. The two COPY formats run alternately in one invocation, on fresh
// databases, and each line gives committed samples/s, this process's CPU (the writer and the producers) and
// the PostgreSQL server's CPU (the postmaster and every backend) per 1,000 samples; the last line gives
// text/binary ratios. Fails when a sample is lost or a batch fails.
//
//   bench_pg_store [seconds-per-case=3] [rounds=2] [devices=256] [N ...=256 1024]
#include "core/store/pg/pg_store.hpp"
#include "core/util/clock.hpp"
#include "submit_window.hpp"
#include "support/postgres_server.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <dirent.h>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {
using namespace fleetscope;

constexpr int kProducers = 2;

double process_cpu_seconds()
{
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

/// utime + stime of `pid` and of its children, in seconds (/proc/PID/stat; the backends of a postmaster are
/// its children and live as long as their connection).
double tree_cpu_seconds(pid_t root)
{
    const double hz = static_cast<double>(sysconf(_SC_CLK_TCK));
    double total = 0;
    DIR* proc = opendir("/proc");
    if (!proc)
        return 0;
    while (const dirent* e = readdir(proc)) {
        const pid_t pid = static_cast<pid_t>(std::atoi(e->d_name));
        if (pid <= 0)
            continue;
        std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
        std::string line;
        if (!std::getline(f, line))
            continue;
        const auto close = line.rfind(')');
        if (close == std::string::npos)
            continue;
        std::istringstream rest(line.substr(close + 2));
        std::string state;
        long long ppid = 0;
        rest >> state >> ppid;
        if (pid != root && ppid != root)
            continue;
        std::string skip;
        for (int i = 0; i < 9; ++i)
            rest >> skip; // pgrp .. cmajflt
        long long utime = 0;
        long long stime = 0;
        rest >> utime >> stime;
        total += static_cast<double>(utime + stime) / hz;
    }
    closedir(proc);
    return total;
}

using Window = bench::SubmitWindow;

struct Result {
    double samples_per_s = 0;
    double client_ms_per_1k = 0; // this process
    double server_ms_per_1k = 0; // PostgreSQL
    double mean_batch = 0;
    bool ok = true;
};

Result run_case(testing::PostgresServer& server, const std::string& db, store::pg::CopyFormat format,
                int inflight, int devices, double seconds)
{
    store::pg::Options opt;
    opt.conninfo = server.create_database(db);
    opt.gateway = "bench";
    opt.copy_format = format;
    Result r;
    std::atomic<std::uint64_t> not_committed{0};
    std::atomic<std::uint64_t> submitted{0};
    store::pg::PgStore s(opt);
    Window window(inflight);
    std::atomic<bool> running{true};
    const double c0 = process_cpu_seconds();
    const double p0 = tree_cpu_seconds(server.pid());
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<std::thread> producers;
    const std::int64_t first_ts = util::now_ms();
    for (int p = 0; p < kProducers; ++p) {
        producers.emplace_back([&, p] {
            for (std::uint64_t i = static_cast<std::uint64_t>(p); running.load(std::memory_order_relaxed);
                 i += kProducers) {
                window.acquire();
                std::vector<telemetry::Sample> samples(1);
                samples[0].device = "dev-" + std::to_string(i % static_cast<std::uint64_t>(devices));
                samples[0].ts_ms =
                    first_ts + static_cast<std::int64_t>(i / static_cast<std::uint64_t>(devices));
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
    window.wait_all(std::chrono::seconds(30));
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double client = process_cpu_seconds() - c0;
    const double pg = tree_cpu_seconds(server.pid()) - p0;
    const store::StoreStats st = s.stats();
    const double n = static_cast<double>(st.committed_samples);
    r.samples_per_s = n / wall;
    r.client_ms_per_1k = n > 0 ? client * 1e6 / n : 0;
    r.server_ms_per_1k = n > 0 ? pg * 1e6 / n : 0;
    r.mean_batch = st.batches ? n / static_cast<double>(st.batches) : 0;
    r.ok = st.failed_batches == 0 && not_committed.load() == 0 && st.committed_samples == submitted.load();
    if (!r.ok)
        std::fprintf(stderr, "lost work: submitted %llu, committed %llu, failed batches %llu, refused %llu\n",
                     static_cast<unsigned long long>(submitted.load()),
                     static_cast<unsigned long long>(st.committed_samples),
                     static_cast<unsigned long long>(st.failed_batches),
                     static_cast<unsigned long long>(not_committed.load()));
    return r;
}

} // namespace

int main(int argc, char** argv)
{
    const double seconds = argc > 1 ? std::atof(argv[1]) : 3.0;
    const int rounds = argc > 2 ? std::atoi(argv[2]) : 2;
    const int devices = argc > 3 ? std::atoi(argv[3]) : 256;
    std::vector<int> cases;
    for (int i = 4; i < argc; ++i)
        cases.push_back(std::atoi(argv[i]));
    if (cases.empty())
        cases = {256, 1024};
    if (const auto why = testing::PostgresServer::unavailable(); !why.empty()) {
        std::printf("bench_pg_store: skipped: %s\n", why.c_str());
        return 0;
    }
    testing::PostgresServer server;
    try {
        server.start();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_pg_store: %s\n", e.what());
        return 1;
    }
    bool ok = true;
    int db = 0;
    for (const int n : cases) {
        std::map<store::pg::CopyFormat, std::vector<Result>> results;
        for (int round = 0; round < rounds; ++round) {
            // Alternate which format goes first.
            for (int k = 0; k < 2; ++k) {
                const auto format =
                    (k + round) % 2 == 0 ? store::pg::CopyFormat::binary : store::pg::CopyFormat::text;
                const Result r =
                    run_case(server, "bench" + std::to_string(++db), format, n, devices, seconds);
                std::printf(
                    "bench_pg_store: %5d in flight, %d devices, 1 sample x 2 metrics, COPY %-6s: %8.0f "
                    "samples/s committed, CPU per 1,000 samples: store %.1f ms, PostgreSQL %.1f ms; "
                    "mean batch %.0f\n",
                    n, devices, format == store::pg::CopyFormat::binary ? "binary" : "text", r.samples_per_s,
                    r.client_ms_per_1k, r.server_ms_per_1k, r.mean_batch);
                std::fflush(stdout);
                ok = ok && r.ok;
                results[format].push_back(r);
            }
        }
        auto mean = [](const std::vector<Result>& v, double Result::*f) {
            double sum = 0;
            for (const auto& r : v)
                sum += r.*f;
            return v.empty() ? 0 : sum / static_cast<double>(v.size());
        };
        const auto& b = results[store::pg::CopyFormat::binary];
        const auto& t = results[store::pg::CopyFormat::text];
        std::printf(
            "bench_pg_store: %5d in flight, text/binary over %d rounds: samples/s %.2f, store CPU %.2f, "
            "PostgreSQL CPU %.2f\n",
            n, rounds, mean(t, &Result::samples_per_s) / mean(b, &Result::samples_per_s),
            mean(t, &Result::client_ms_per_1k) / mean(b, &Result::client_ms_per_1k),
            mean(t, &Result::server_ms_per_1k) / mean(b, &Result::server_ms_per_1k));
    }
    return ok ? 0 : 1;
}
