// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "core/telemetry/sample.hpp"
#include "core/util/identifier.hpp"
#include "core/util/result.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace fleetscope::telemetry {

/// Fixed by the HTTP contract (README.md, HTTP API), unlike the tunable `DecodeLimits`.
inline constexpr std::size_t kMaxDeviceLength = 128;
inline constexpr std::size_t kMaxMetricNameLength = 64;

/// Limits the decoder enforces; copied from `Settings`.
struct DecodeLimits {
    std::size_t max_samples = 1000;
    std::size_t max_metrics = 256;
    std::size_t max_depth = 8;
};

/// Decodes and validates a telemetry body per the HTTP contract (README.md, HTTP API): one sample object or
/// an array of them. The samples, or an error naming the sample and what is wrong; all or nothing: any
/// invalid sample fails the whole body. `now_ms` fills an absent `ts`. Pure function, safe on any thread.
util::Result<std::vector<Sample>> decode_samples(std::string_view body, std::int64_t now_ms,
                                                 const DecodeLimits& limits);

/// Body text quoted for an error message: printable ASCII as is, other bytes as \xNN, cut after 64 bytes.
/// Bounded and valid UTF-8 whatever the body held, so it can go straight into a JSON response.
std::string quoted(std::string_view s);

/// True when `s` is 1..max_len characters of [A-Za-z0-9._:-] (the one check, in core/util).
using util::valid_identifier;

} // namespace fleetscope::telemetry
