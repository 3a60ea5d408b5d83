// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "core/metrics/derived.hpp"
#include "core/metrics/snapshot.hpp"
#include "core/settings.hpp"
#include "core/store/store.hpp"

#include <optional>
#include <vector>

namespace fleetscope::store {

/// Turns the sampler's snapshot stream into the points of the persisted timeline (the persisted rows of
/// metrics::kDerivedSeries), one set every `interval`: gauges as last seen, rates over the interval, p99s as
/// the worst seen in it. Plain value type, used on the gateway's sampler thread.
class TimelineDeriver {
public:
    explicit TimelineDeriver(Millis interval)
        : interval_(interval)
        , cutter_(interval.count())
    {}

    /// Feeds one snapshot; returns the points of an interval once it has elapsed, else nothing.
    std::vector<TimelineRow> push(const metrics::Snapshot& s);

private:
    Millis interval_;
    metrics::IntervalCutter cutter_;
};

} // namespace fleetscope::store
