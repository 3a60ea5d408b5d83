// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/sim/payload.hpp"

#include "core/util/clock.hpp"

#include <cstdint>

namespace fleetscope::sim {

namespace http = boost::beast::http;

Payload::Payload(const Options& o, std::size_t index)
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
    for (std::size_t i = 0; i < o.metrics; ++i)
        metrics[metric_name(i)] = 0.0;
    sample_["metrics"] = std::move(metrics);
    // The object is complete: no insertion follows, so these pointers stay valid for the payload's life.
    ts_ = &sample_.at("ts");
    metrics_ = &sample_.at("metrics").as_object();
}

void Payload::fill(const DeviceModel& model)
{
    *ts_ = util::now_ms();
    std::size_t i = 0;
    for (auto& m : *metrics_) {
        // Integral readings go out as JSON integers ("-67", not "-6.7E1"), as a device would send them.
        if (model.integral(i))
            m.value() = static_cast<std::int64_t>(model.value(i));
        else
            m.value() = model.value(i);
        ++i;
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
