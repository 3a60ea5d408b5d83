// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/store/timeline.hpp"

#include "core/metrics/derived.hpp"

#include <algorithm>
#include <string>

namespace fleetscope::store {

std::vector<TimelineRow> TimelineDeriver::push(const metrics::Snapshot& s)
{
    std::vector<TimelineRow> out;
    if (interval_.count() <= 0)
        return out;
    if (base_ && (s.uptime_ms < base_->uptime_ms || s.workers.size() != base_->workers.size()))
        base_.reset();
    if (!base_) {
        base_ = s;
        worst_ack_p99_ = 0;
        worst_commit_p99_ = 0;
        return out;
    }
    worst_ack_p99_ = std::max(worst_ack_p99_, s.ack_p99_ms);
    worst_commit_p99_ = std::max(worst_commit_p99_, s.commit_p99_ms);
    const std::int64_t elapsed_ms = s.at_ms - base_->at_ms;
    if (elapsed_ms < interval_.count())
        return out;

    const metrics::Interval iv{s, *base_, worst_ack_p99_, worst_commit_p99_};
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
                out.push_back(TimelineRow{std::string(series.name) + "." + std::to_string(w), s.at_ms, *v});
    });

    base_ = s;
    worst_ack_p99_ = 0;
    worst_commit_p99_ = 0;
    return out;
}

} // namespace fleetscope::store
