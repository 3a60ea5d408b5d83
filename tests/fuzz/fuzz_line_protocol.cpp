// SPDX-License-Identifier: GPL-3.0-or-later
// libFuzzer target: raw bytes as a POST /write body into telemetry::decode_line_protocol, with the default
// limits of Settings. Besides crashes and sanitizer reports it checks the parser's contract on every input:
// an accepted body yields only valid samples (a valid device, finite readings under valid measurement.field
// names, no repeated name in a sample, no more than the limits); a rejected one yields no sample and an error
// that names its line and is short printable ASCII, as it goes verbatim into the JSON error response.
#include "core/settings.hpp"
#include "core/telemetry/line_protocol.hpp"

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string_view>

namespace {

using namespace fleetscope;

// A fixed text plus two quoted excerpts of at most 64 bytes each (four bytes per escaped byte).
constexpr std::size_t kMaxErrorLength = 1024;
constexpr std::int64_t kNowMs = 1'732'630'000'123;

void require(bool ok, const char* what)
{
    if (!ok) {
        std::fprintf(stderr, "fuzz_line_protocol: contract broken: %s\n", what);
        std::abort();
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    static const Settings defaults;
    telemetry::LineProtocolOptions o;
    o.now_ms = kNowMs;
    o.limits = {defaults.max_samples_per_request, defaults.max_metrics_per_sample, defaults.max_json_depth};
    // The first byte picks the precision, so that every unit's conversion is fuzzed too.
    static constexpr telemetry::Precision kPrecisions[] = {telemetry::Precision::ns, telemetry::Precision::us,
                                                           telemetry::Precision::ms, telemetry::Precision::s,
                                                           telemetry::Precision::m,  telemetry::Precision::h};
    if (size > 0) {
        o.precision = kPrecisions[data[0] % 6];
        ++data;
        --size;
    }
    const std::string_view body(reinterpret_cast<const char*>(data), size);
    const auto r = telemetry::decode_line_protocol(body, o);
    if (r.ok()) {
        require(r->samples.size() <= o.limits.max_samples, "at most max-samples samples");
        for (const auto& s : r->samples) {
            require(telemetry::valid_identifier(s.device, telemetry::kMaxDeviceLength), "a valid device");
            require(s.ts_ms >= 0, "a non-negative ts");
            require(!s.metrics.empty() && s.metrics.size() <= o.limits.max_metrics,
                    "1 to max-metrics readings");
            require(s.source == telemetry::Source::line_protocol, "the line-protocol source");
            std::set<std::string_view> names;
            for (const auto& m : s.metrics) {
                require(telemetry::valid_identifier(m.name, telemetry::kMaxMetricNameLength), "a valid name");
                require(m.name.find('.') != std::string::npos, "a measurement.field name");
                require(std::isfinite(m.value), "a finite value");
                require(names.insert(m.name).second, "no repeated name in a sample");
            }
        }
    } else {
        require(r.error().starts_with("line "), "the error names the line");
        require(r.error().size() <= kMaxErrorLength, "a bounded error message");
        for (char c : r.error())
            require(c >= 0x20 && c < 0x7f, "an error message of printable ASCII");
    }
    return 0;
}
