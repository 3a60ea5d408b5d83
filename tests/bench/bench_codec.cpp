// SPDX-License-Identifier: GPL-3.0-or-later
// Decode cost of POST /v1/telemetry bodies. The gateway decodes on the worker threads beside HTTP, so this
// bounds requests/s per core. Prints ns per sample; fails when decoding breaks or becomes pathologically
// slow.
#include "core/telemetry/codec.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>

namespace {
using fleetscope::telemetry::decode_samples;
using fleetscope::telemetry::DecodeLimits;

constexpr const char* kTypical =
    R"({"device":"pump-17","ts":1732630000123,"metrics":{"temp_c":21.5,"rssi":-67}})";

// An optimised build decodes a typical sample in well under a microsecond, even on a loaded machine; beyond
// this gate something regressed. Debug and sanitizer builds are an order of magnitude slower and not gated.
constexpr double kGateNsPerSample = 5'000;
#ifdef NDEBUG
constexpr bool kGated = true;
#else
constexpr bool kGated = false;
#endif

struct Figure {
    double ns_per_sample = 0;
    double ns_per_body = 0;
    long bodies = 0;
};

// The thread's CPU time: the machine is shared with the load generator and builds, and wall time would charge
// their time slices to the decoder.
double cpu_ns()
{
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

// Decodes `body` repeatedly for about `budget` of CPU time, after a warm-up, and returns the mean cost.
Figure measure(const std::string& body, std::size_t samples_per_body, std::chrono::milliseconds budget)
{
    const DecodeLimits limits;
    for (int i = 0; i < 1000; ++i) {
        if (!decode_samples(body, 0, limits).ok()) {
            std::fprintf(stderr, "decode failed: %s\n", decode_samples(body, 0, limits).error().c_str());
            std::exit(1);
        }
    }
    Figure f;
    std::size_t sink = 0;
    const double start = cpu_ns();
    const double budget_ns = std::chrono::duration<double, std::nano>(budget).count();
    double now = start;
    while (now - start < budget_ns) {
        for (int i = 0; i < 100; ++i) {
            sink += decode_samples(body, 0, limits)->size();
        }
        f.bodies += 100;
        now = cpu_ns();
    }
    if (sink != static_cast<std::size_t>(f.bodies) * samples_per_body) {
        std::fprintf(stderr, "decoded %zu samples, expected %zu\n", sink, f.bodies * samples_per_body);
        std::exit(1);
    }
    f.ns_per_body = (now - start) / static_cast<double>(f.bodies);
    f.ns_per_sample = f.ns_per_body / static_cast<double>(samples_per_body);
    return f;
}

} // namespace

int main(int argc, char** argv)
{
    // An optional first argument sets the CPU milliseconds spent on each case.
    const std::chrono::milliseconds budget(argc > 1 ? std::atoi(argv[1]) : 500);

    std::string array = "[";
    for (int i = 0; i < 100; ++i) {
        array += (i ? "," : "") + std::string(kTypical);
    }
    array += "]";

    bool ok = true;
    const auto report = [&](const char* name, const std::string& body, std::size_t samples) {
        const Figure f = measure(body, samples, budget);
        std::printf("%-22s %6zu bytes  %8.1f CPU ns/sample  %9.1f ns/body  %6.2f M samples/s\n", name,
                    body.size(), f.ns_per_sample, f.ns_per_body, 1e3 / f.ns_per_sample);
        ok = ok && (!kGated || f.ns_per_sample < kGateNsPerSample);
    };
    report("single sample", kTypical, 1);
    report("100-sample array", array, 100);
    if (!kGated) {
        std::printf("unoptimised build: the %.0f ns/sample gate is not applied\n", kGateNsPerSample);
    }
    if (!ok) {
        std::printf("FAIL: over the gate of %.0f ns/sample\n", kGateNsPerSample);
    }
    return ok ? 0 : 1;
}
