// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "core/metrics/derived.hpp"
#include "core/metrics/snapshot.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

namespace fleetscope::ui {

/// One point of the overview plots: gauges as last seen, rates derived from the totals of two snapshots.
/// Fields that the gateway reports as unavailable (-1) are NaN here.
struct OverviewPoint {
    double t = 0; // seconds since epoch
    double interval_s = 0;
    double uptime_s = 0;

    double connections = 0;
    double accept_rate = 0;
    double accept_backoffs = 0;
    double connection_ceiling = 0;
    std::array<double, 6> responses_rate{}; // index = status class
    double requests_rate = 0;
    double samples_rate = 0;
    double ack_p50_ms = 0;
    double ack_p99_ms = 0;

    double listen_queue = 0;
    double listen_queue_limit = 0;
    double listen_overflows_rate = 0;
    double listen_drops_rate = 0;

    std::vector<double> ready_depth; // per worker
    std::vector<double> idle_pct;    // per worker
    double fibers_alive = 0;
    double switches_rate = 0;
    double parked = 0;

    double store_queue = 0;
    double store_batch = 0;
    double commit_p50_ms = 0;
    double commit_p99_ms = 0;

    double rss_mb = 0;
    double open_fds = 0;
    double fd_limit = 0;
    std::uint64_t dropped_updates = 0;

    int mqtt_link = 0;       // metrics::MqttLink: 0 off, 1 connecting, 2 up
    double mqtt_rate = 0;    // MQTT messages committed per second
    double mqtt_invalid = 0; // since start
};

/// Sets the field of `p` that shows `series` (the one mapping from metrics::kDerivedSeries to the overview,
/// for live points and a capture's replay alike), per worker at `worker`; rss_bytes is shown in MiB. False
/// when the overview has no field for the series.
bool setOverviewValue(OverviewPoint& p, metrics::Derived series, double value, std::size_t worker = 0);

/// Turns the 100 ms snapshot stream into overview points every `period_ms`: rates over the period, latency as
/// the worst p99 and the latest p50 seen in it. Plain value type, used on the GUI thread.
class SnapshotDeriver {
public:
    explicit SnapshotDeriver(std::int64_t period_ms = 500)
        : cutter_(period_ms)
    {}

    /// Feeds one snapshot; returns a point when a period has elapsed since the last one.
    std::optional<OverviewPoint> push(const metrics::Snapshot& s);
    /// Forgets the baseline, e.g. after the gateway restarted and its totals began again from zero.
    void reset();

private:
    metrics::IntervalCutter cutter_;
};

} // namespace fleetscope::ui
