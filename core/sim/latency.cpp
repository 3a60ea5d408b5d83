// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/sim/latency.hpp"

#include <algorithm>

namespace fleetscope::sim {

LatencySummary summarize(const LatencyCounts& c, std::uint64_t max_ns)
{
    LatencySummary s;
    s.count = c.count;
    if (c.count == 0)
        return s;
    const double max_ms = static_cast<double>(max_ns) / 1e6;
    const auto at = [&](double q) { return std::min(metrics::percentile(c, q), max_ms); };
    s.mean_ms = static_cast<double>(c.sum_ns) / static_cast<double>(c.count) / 1e6;
    s.p50_ms = at(0.50);
    s.p90_ms = at(0.90);
    s.p99_ms = at(0.99);
    s.p999_ms = at(0.999);
    s.max_ms = max_ms;
    return s;
}

} // namespace fleetscope::sim
