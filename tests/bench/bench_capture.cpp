// SPDX-License-Identifier: GPL-3.0-or-later
// A 1,000,000-sample capture: builds a store of that many readings (devices x samples x 2 metrics), exports
// it to each format with progress, reopens the capture and reads every device back. Prints wall and CPU time,
// samples/s and the number of progress calls per step; fails when a count differs.
//
//   bench_capture [samples=1000000] [devices=100] [keep]   (keep: leave the database and the outputs behind,
//                                                          e.g. to time `fleetscope-gateway export` on them)
#include "core/store/capture.hpp"
#include "core/store/store.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {
using namespace fleetscope;
namespace fs = std::filesystem;

double cpu_seconds()
{
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

/// Wall and process CPU seconds of `f`.
template <class F>
std::pair<double, double> timed(F&& f)
{
    const auto w0 = std::chrono::steady_clock::now();
    const double c0 = cpu_seconds();
    f();
    return {std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count(), cpu_seconds() - c0};
}

void fill(const std::string& path, std::uint64_t readings, int devices)
{
    store::Options o;
    o.path = path;
    const auto opened = store::open_store(o);
    store::Writer& s = opened->writer();
    const std::uint64_t per_device = readings / 2 / static_cast<std::uint64_t>(devices);
    std::atomic<int> pending{0};
    for (std::uint64_t k = 0; k < per_device; k += 50) {
        std::vector<telemetry::Sample> batch;
        for (int d = 0; d < devices; ++d) {
            for (std::uint64_t i = k; i < std::min(per_device, k + 50); ++i) {
                const auto ts = static_cast<std::int64_t>(1'732'630'000'000 + i * 1000);
                batch.push_back(
                    telemetry::Sample{"pump-" + std::to_string(d),
                                      ts,
                                      {{"temp_c", 20.0 + d * 0.1 + i * 0.001}, {"rssi", -60.0 - d}}});
            }
        }
        pending.fetch_add(1);
        while (!s.submit(std::move(batch), [&pending](store::CommitStatus) { pending.fetch_sub(1); }))
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    s.stop();
}

} // namespace

int main(int argc, char** argv)
{
    const std::uint64_t readings = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1'000'000;
    const int devices = argc > 2 ? std::atoi(argv[2]) : 100;
    const fs::path dir = fs::temp_directory_path() / ("bench_capture-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    const std::string db = (dir / "bench.db").string();
    int failures = 0;

    const auto [fw, fc] = timed([&] { fill(db, readings, devices); });
    std::printf("store: %llu readings of %d devices built in %.2f s\n",
                static_cast<unsigned long long>(readings), devices, fw);

    for (const auto format :
         {store::ExportFormat::capture, store::ExportFormat::csv, store::ExportFormat::jsonl}) {
        const std::string out = (dir / ("bench" + std::string(store::file_extension(format)))).string();
        std::uint64_t calls = 0;
        store::ExportResult r;
        const auto [w, c] = timed([&] {
            r = store::export_data(db, {}, format, out, [&](std::uint64_t, std::uint64_t) {
                ++calls;
                return true;
            });
        });
        if (!r.ok() || r.samples != readings) {
            std::printf("FAIL: export %s: %s, %llu samples\n", std::string(store::to_string(format)).c_str(),
                        r.error.c_str(), static_cast<unsigned long long>(r.samples));
            ++failures;
        }
        std::printf("export %-7s %llu samples: %.2f s wall, %.2f s CPU, %.0f samples/s (wall), %llu progress "
                    "calls, %.1f MB\n",
                    std::string(store::to_string(format)).c_str(), static_cast<unsigned long long>(r.samples),
                    w, c, static_cast<double>(r.samples) / w, static_cast<unsigned long long>(calls),
                    static_cast<double>(fs::file_size(out)) / 1e6);
    }

    const std::string capture = (dir / "bench.fleetscope").string();
    std::uint64_t read_back = 0;
    std::uint64_t info_samples = 0;
    double open_s = 0;
    const auto [rw, rc] = timed([&] {
        const auto o0 = std::chrono::steady_clock::now();
        const store::CaptureReader reader(capture);
        open_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - o0).count();
        info_samples = reader.info().samples;
        for (const auto& d : reader.devices()) {
            store::SampleQuery q;
            q.device = d.device;
            q.limit = readings;
            read_back += reader.samples(q).size();
        }
    });
    if (read_back != readings || info_samples != readings) {
        std::printf("FAIL: reopened capture holds %llu samples (info %llu), expected %llu\n",
                    static_cast<unsigned long long>(read_back), static_cast<unsigned long long>(info_samples),
                    static_cast<unsigned long long>(readings));
        ++failures;
    }
    std::printf("reopen capture: open + info %.3f s; every sample read back in %.2f s wall, %.2f s CPU (%.0f "
                "samples/s)\n",
                open_s, rw, rc, static_cast<double>(read_back) / rw);
    if (argc > 3 && std::string(argv[3]) == "keep") {
        std::printf("kept %s\n", dir.string().c_str());
    } else {
        std::error_code ec;
        fs::remove_all(dir, ec);
    }
    return failures == 0 ? 0 : 1;
}
