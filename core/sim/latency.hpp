// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "core/metrics/histogram.hpp"

#include <cstdint>

namespace fleetscope::sim {

/// The simulator's latency histogram: the gateway's log-linear histogram at a finer precision, 64 sub-buckets
/// per power of two (every value known within 1.6 %) from 2^10 ns (~1 µs) to 2^47 ns (~39 hours, past any
/// run); about 19 KB. Each io_context thread records into its own and the report merges their counts once, at
/// the end.
using LatencyLayout = metrics::LogLinearLayout<6, 10, 47>;
using LatencyHistogram = metrics::BasicHistogram<LatencyLayout>;
using LatencyCounts = LatencyHistogram::Counts;

/// A latency summary in milliseconds, as the reports print it.
struct LatencySummary {
    std::uint64_t count = 0;
    double mean_ms = 0;
    double p50_ms = 0;
    double p90_ms = 0;
    double p99_ms = 0;
    double p999_ms = 0;
    double max_ms = 0;
};

/// The summary of `c`, whose largest value was `max_ns`: no percentile is reported above it, though a
/// percentile interpolated inside the top bucket could lie there.
LatencySummary summarize(const LatencyCounts& c, std::uint64_t max_ns);

} // namespace fleetscope::sim
