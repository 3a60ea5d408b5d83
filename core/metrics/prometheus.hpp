// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "core/metrics/snapshot.hpp"

#include <string>

namespace fleetscope::metrics {

/// Renders `s` in the Prometheus text exposition format 0.0.4, for GET /metrics (Content-Type
/// `text/plain; version=0.0.4; charset=utf-8`). Every family has # HELP and # TYPE lines and a `fleetscope_`
/// prefix; counters end in `_total`; times are in seconds; per-worker figures carry a worker="i" label and
/// responses a class="2xx" label; latency quantiles are gauges with a quantile="0.5"/"0.99" label over the
/// last sample interval. Listen-queue figures that are -1 (not available) are left out, family and all. A
/// pure function of its argument: safe from any thread.
std::string prometheus_text(const Snapshot& s);

} // namespace fleetscope::metrics
