// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/store/timeline.hpp"

#include <string>

namespace fleetscope::store {

std::vector<TimelineRow> TimelineDeriver::push(const metrics::Snapshot& s)
{
    std::vector<TimelineRow> out;
    if (interval_.count() <= 0)
        return out;
    cutter_.push(s, [&](const metrics::Interval& iv) {
        out.reserve(metrics::kDerivedSeries.size() + 2 * s.workers.size());
        metrics::for_each_derived([&](const metrics::DerivedInfo& series) {
            if (!series.persisted)
                return;
            // No value (not measurable on this OS): such a series gets no point rather than a made-up value.
            if (!series.per_worker) {
                if (auto v = metrics::derive(series.id, iv))
                    out.push_back(TimelineRow{std::string(series.name), s.at_ms, *v});
                return;
            }
            for (std::size_t w = 0; w < s.workers.size(); ++w)
                if (auto v = metrics::derive(series.id, iv, w))
                    out.push_back(
                        TimelineRow{std::string(series.name) + "." + std::to_string(w), s.at_ms, *v});
        });
    });
    return out;
}

} // namespace fleetscope::store
