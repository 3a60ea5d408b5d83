// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "core/net/message.hpp"

#include <optional>
#include <string>
#include <string_view>

/// What the routing table needs of the InfluxDB-compatible write endpoints (POST /write, POST /api/v2/write);
/// Api::post_write, in influx_write.cpp, serves them. docs/architecture.md, "Ingest protocols".
namespace fleetscope::http::influx {

/// Any Content-Type: InfluxDB reads the body as line protocol whatever the header says, and clients differ.
bool accepts(std::string_view content_type);
inline constexpr std::string_view kAccepted = "InfluxDB line protocol (any Content-Type)";

/// The device token of a write: the Authorization field (`Token`, `Bearer`, or Basic with the token as the
/// password), else the 1.x query parameter `p`. Nothing when neither is there or the field is malformed.
std::optional<std::string> token(const net::Request& request);
inline constexpr std::string_view kTokenUsage =
    "send 'Authorization: Token <token>' (InfluxDB 2.x clients), Basic authentication or the query "
    "parameters u and p (1.x clients) with the device token as the password (fleetscope-gateway token add)";

} // namespace fleetscope::http::influx
