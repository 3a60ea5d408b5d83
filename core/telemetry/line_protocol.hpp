// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "core/telemetry/codec.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fleetscope::telemetry {

/// The unit of a line's timestamp: InfluxDB's `precision` parameter.
enum class Precision { ns, us, ms, s, m, h };

/// `n`/`ns`, `u`/`us`, `ms`, `s`, `m`, `h` (InfluxDB 1.x and 2.x spellings); nothing for any other text.
std::optional<Precision> parse_precision(std::string_view text);

/// How lines become samples.
struct LineProtocolOptions {
    std::string_view device_tag = "device"; // the tag naming the device; `host` when a line lacks it
    std::string_view fallback_device;       // the device of a line with neither tag; empty: an error
    Precision precision = Precision::ns;
    std::int64_t now_ms = 0; // the timestamp of a line without one
    DecodeLimits limits;     // max_samples: lines; max_metrics: fields per line
};

/// The samples of a body, one per line that has a numeric field.
struct LineProtocolSamples {
    std::vector<Sample> samples;
    std::size_t strings_skipped = 0; // string fields, which have no numeric reading to store
};

/// Decodes a body of InfluxDB line protocol (`measurement[,tag=v...] field=v[,field=v...] [timestamp]`, with
/// its escapes, quoted strings and `#` comments). A reading is `measurement.field`; floats, integers (`10i`),
/// unsigned integers (`10u`) and booleans (1 and 0) are kept, strings are counted and skipped. All or
/// nothing: any invalid line fails the whole body, with an error naming the line and what is wrong. Pure
/// function, safe on any thread. docs/architecture.md, "Ingest protocols".
util::Result<LineProtocolSamples> decode_line_protocol(std::string_view body,
                                                       const LineProtocolOptions& options);

} // namespace fleetscope::telemetry
