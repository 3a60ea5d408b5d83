// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "core/metrics/snapshot.hpp"

#include <string>

namespace fleetscope::metrics {

/// Renders `s` in the Prometheus text exposition format 0.0.4, for GET /metrics (Content-Type
/// `text/plain; version=0.0.4; charset=utf-8`), clean under `promtool check metrics`. Every family has # HELP
/// and # TYPE lines; the gateway's own carry a `fleetscope_` prefix, and the process's are the standard
/// `process_*` ones. Counters end in `_total`; times are in seconds; per-worker figures carry a worker="i"
/// label, responses a class="2xx" label, rejected samples a reason label (kRejectionNames). Ack and commit
/// latencies are histograms since start, at the fixed `le` bounds of kLatencyBoundsNs. Figures the platform
/// cannot give (listen queue, process figures: -1, or 0 where 0 is impossible) are left out, family and all.
/// A pure function of its argument: safe from any thread.
std::string prometheus_text(const Snapshot& s);

} // namespace fleetscope::metrics
