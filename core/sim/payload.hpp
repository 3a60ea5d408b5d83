// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// Internal to core/sim.
#include "core/sim/device_model.hpp"
#include "core/sim/options.hpp"

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serializer.hpp>
#include <boost/json/value.hpp>

#include <cstddef>

namespace fleetscope::sim {

/// The POST /v1/telemetry a device sends, rebuilt in place for every sample: the head is set once, the sample
/// object keeps its keys, and the body is serialised into the capacity the first post sized, so posting
/// allocates nothing. Lives in its device's coroutine frame.
class Payload {
public:
    using Request = boost::beast::http::request<boost::beast::http::string_body>;

    Payload(const Options& o, std::size_t index);
    Payload(const Payload&) = delete; // ts_ and metrics_ point into sample_
    Payload& operator=(const Payload&) = delete;

    /// Stamps the sample with the wall clock and `model`'s current readings, and serialises it.
    void fill(const DeviceModel& model);
    Request& request() { return req_; }

private:
    Request req_;
    boost::json::object sample_;
    boost::json::value* ts_ = nullptr;
    boost::json::object* metrics_ = nullptr;
    boost::json::serializer serializer_;
};

} // namespace fleetscope::sim
