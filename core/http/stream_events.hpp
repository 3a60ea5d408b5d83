// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// The JSON of GET /v1/stream's events (README, "HTTP API"), written by the gateway's stream and read back by
// the monitor's remote feed. One place for both directions, so the two cannot drift apart. Pure functions:
// any thread.

#include "core/alerts/alerts.hpp"
#include "core/metrics/snapshot.hpp"

#include <boost/json/value.hpp>

#include <span>
#include <string>
#include <vector>

namespace fleetscope::http {

/// The `snapshot` event: every field of a metrics::Snapshot, by its member's name.
std::string snapshot_json(const metrics::Snapshot& s);
/// Reads a `snapshot` event back; false (and `out` partly filled) when a field is missing or of the wrong
/// type.
bool snapshot_from_json(const boost::json::value& v, metrics::Snapshot& out);

/// The `devices` event: committed samples as POST /v1/telemetry takes them, in commit order
/// (`[{"device":…,"ts":…,"metrics":{…}}, …]`); telemetry::decode_samples reads it back.
std::string updates_json(std::span<const metrics::DeviceUpdate> updates);

/// The `alert` event: {"kind":"raised|cleared|acked","alert":{…}} with the alert as GET /v1/alerts has it.
std::string alert_event_json(const alerts::AlertEvent& e);
/// An alert as alerts::to_json writes it; nothing when a field is missing or malformed.
std::optional<alerts::Alert> alert_from_json(const boost::json::value& v);
/// Reads an `alert` event back.
std::optional<alerts::AlertEvent> alert_event_from_json(const boost::json::value& v);

} // namespace fleetscope::http
