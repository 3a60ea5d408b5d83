// SPDX-License-Identifier: GPL-3.0-or-later
// libFuzzer target: raw bytes as a POST /v1/telemetry body into telemetry::decode_samples, with the default
// limits of Settings. Besides crashes and sanitizer reports it checks the decoder's contract on every input:
// an accepted body is strict JSON and every sample it yields is valid; a rejected body yields no sample and
// an error message that is short printable ASCII, as it goes verbatim into the JSON error response.
#include "core/settings.hpp"
#include "core/telemetry/codec.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/parse_options.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace fleetscope;

// Longer than any message the decoder builds: a fixed text plus a quoted excerpt of at most 64 bytes.
constexpr std::size_t kMaxErrorLength = 512;
constexpr std::int64_t kNowMs = 1'732'630'000'123;

void require(bool ok, const char* what)
{
    if (!ok) {
        std::fprintf(stderr, "fuzz_telemetry_decode: contract broken: %s\n", what);
        std::abort();
    }
}

void check_accepted(std::string_view body, const std::vector<telemetry::Sample>& samples,
                    const telemetry::DecodeLimits& l)
{
    boost::system::error_code ec;
    boost::json::parse_options strict;
    strict.max_depth = l.max_depth;
    boost::json::parse(body, ec, {}, strict);
    require(!ec, "an accepted body is strict JSON");
    require(!samples.empty() && samples.size() <= l.max_samples, "1 to max-samples samples");
    for (const auto& s : samples) {
        require(telemetry::valid_identifier(s.device, telemetry::kMaxDeviceLength), "a valid device");
        require(s.ts_ms >= 0, "a non-negative ts");
        require(!s.metrics.empty() && s.metrics.size() <= l.max_metrics, "1 to max-metrics metrics");
        std::set<std::string_view> names;
        for (const auto& m : s.metrics) {
            require(telemetry::valid_identifier(m.name, telemetry::kMaxMetricNameLength), "a valid name");
            require(std::isfinite(m.value), "a finite value");
            require(names.insert(m.name).second, "no duplicate metric name");
        }
    }
}

void check_rejected(const std::string& error)
{
    require(error.size() <= kMaxErrorLength, "a bounded error message");
    for (char c : error)
        require(c >= 0x20 && c < 0x7f, "an error message of printable ASCII");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    static const Settings defaults;
    static const telemetry::DecodeLimits limits{defaults.max_samples_per_request,
                                                defaults.max_metrics_per_sample, defaults.max_json_depth};
    const std::string_view body(reinterpret_cast<const char*>(data), size);
    const auto result = telemetry::decode_samples(body, kNowMs, limits);
    if (result.ok())
        check_accepted(body, *result, limits);
    else
        check_rejected(result.error());
    return 0;
}
