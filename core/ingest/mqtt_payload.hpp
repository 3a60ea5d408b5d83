// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "core/telemetry/sample.hpp"
#include "core/util/result.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace fleetscope {
struct Settings;
}

/// MQTT ingest (docs/architecture.md, "Ingest protocols"): the client in mqtt_ingester.hpp, Paho's message
/// store in mqtt_persistence.hpp, and here what a message means.
namespace fleetscope::ingest {

/// The filters of --mqtt-topic, kept comma-separated in Settings::mqtt_topics.
std::vector<std::string> split_topics(std::string_view list);

/// Whether `topic` matches the MQTT topic filter `filter` (`+` one level, `#` the rest).
bool topic_matches(std::string_view filter, std::string_view topic);

/// The device a topic names: its segment at the first `+` of the first filter it matches; empty when no
/// filter with a `+` matches.
std::string device_from_topic(const std::vector<std::string>& filters, std::string_view topic);

/// The samples of one message.
struct PayloadSamples {
    std::vector<telemetry::Sample> samples;
    std::size_t strings_skipped = 0;
};

/// Decodes a message's payload: a JSON sample or an array of them (as POST /v1/telemetry takes) or InfluxDB
/// line protocol. `topic_device` (from device_from_topic) is the device of samples that name none; a sample
/// naming another device is invalid. The samples, or why the message is invalid. The limits are the HTTP
/// endpoints'. Pure function, any thread.
util::Result<PayloadSamples> decode_payload(std::string_view payload, std::string_view topic_device,
                                            std::int64_t now_ms, const Settings& settings);

} // namespace fleetscope::ingest
