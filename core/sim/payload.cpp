// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/sim/payload.hpp"

#include <chrono>
#include <cstdint>

namespace fleetscope::sim {

namespace http = boost::beast::http;

Payload::Payload(const Options& o, std::size_t index)
    : rng_(0x9E3779B97F4A7C15ull ^ (index + 1) * 0xBF58476D1CE4E5B9ull)
{
    req_.method(http::verb::post);
    req_.target("/v1/telemetry");
    req_.version(11);
    req_.set(http::field::host, o.target);
    req_.set(http::field::content_type, "application/json");
    req_.set(http::field::user_agent, "fleetscope-sim");
    if (!o.token.empty())
        req_.set(http::field::authorization, "Bearer " + o.token);
    sample_["device"] = o.device_prefix + "-" + std::to_string(index);
    sample_["ts"] = std::int64_t{0};
    boost::json::object metrics;
    static constexpr std::string_view kNames[] = {"temp_c", "rssi", "battery_v", "cpu_pct", "uptime_s"};
    for (std::size_t i = 0; i < o.metrics; ++i)
        metrics[i < std::size(kNames) ? std::string(kNames[i]) : "m" + std::to_string(i)] = 0.0;
    sample_["metrics"] = std::move(metrics);
    // The object is complete: no insertion follows, so these pointers stay valid for the payload's life.
    ts_ = &sample_.at("ts");
    metrics_ = &sample_.at("metrics").as_object();
}

void Payload::fill()
{
    *ts_ = std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
               .count();
    for (auto& m : *metrics_) {
        // xorshift64: cheap, deterministic per device, different values each post.
        rng_ ^= rng_ << 13;
        rng_ ^= rng_ >> 7;
        rng_ ^= rng_ << 17;
        m.value() = static_cast<double>(rng_ % 100'000) / 100.0;
    }
    std::string& body = req_.body();
    body.clear();
    serializer_.reset(&sample_);
    char chunk[512];
    while (!serializer_.done())
        body.append(serializer_.read(chunk));
    req_.content_length(body.size());
}

} // namespace fleetscope::sim
