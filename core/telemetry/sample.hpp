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

/// How a sample reached the gateway, shown per device in the monitor.
enum class Source : std::uint8_t {
    http,          // POST /v1/telemetry (JSON)
    line_protocol, // POST /write or /api/v2/write (InfluxDB line protocol)
    mqtt,          // a message through the MQTT broker
};

/// One decoded, validated telemetry sample. `ts_ms` is milliseconds since the Unix epoch.
struct Sample {
    std::string device;
    std::int64_t ts_ms = 0;
    std::vector<Metric> metrics;
    Source source = Source::http; // not stored: it travels to the live views only
};

} // namespace fleetscope::telemetry
