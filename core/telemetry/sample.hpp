// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fleetscope::telemetry {

/// One named reading of a sample.
struct Metric {
    std::string name;
    double value = 0;
};

/// One decoded, validated telemetry sample. `ts_ms` is milliseconds since the Unix epoch.
struct Sample {
    std::string device;
    std::int64_t ts_ms = 0;
    std::vector<Metric> metrics;
};

} // namespace fleetscope::telemetry
