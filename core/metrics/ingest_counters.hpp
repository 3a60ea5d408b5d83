// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <atomic>
#include <cstdint>

namespace fleetscope::metrics {

/// The state of the gateway's MQTT subscription, as /metrics and the monitor show it.
enum class MqttLink : std::uint8_t {
    off,        // no --mqtt-broker
    connecting, // connecting, or reconnecting with back-off after the broker went away
    up,         // connected and subscribed
};

/// Counters of the ingest paths beside POST /v1/telemetry: line protocol and MQTT. Written by worker threads
/// (line protocol) and the MQTT client's thread with relaxed atomic adds, a few per request or message; read
/// by the sampler. Owned by the Gateway, which outlives both writers.
struct IngestCounters {
    std::atomic<std::uint64_t> line_protocol_samples{0};  // committed through /write and /api/v2/write
    std::atomic<std::uint64_t> line_protocol_strings{0};  // string fields skipped
    std::atomic<std::uint8_t> mqtt_link{0};               // MqttLink
    std::atomic<std::uint64_t> mqtt_messages{0};          // received
    std::atomic<std::uint64_t> mqtt_committed{0};         // messages whose readings committed
    std::atomic<std::uint64_t> mqtt_invalid{0};           // acknowledged and not stored: failed validation
    std::atomic<std::uint64_t> mqtt_samples_committed{0}; // samples committed from MQTT
    std::atomic<std::uint64_t> mqtt_connects{0};          // successful (re)connections to the broker

    static void add(std::atomic<std::uint64_t>& c, std::uint64_t n = 1)
    {
        c.fetch_add(n, std::memory_order_relaxed);
    }
};

} // namespace fleetscope::metrics
