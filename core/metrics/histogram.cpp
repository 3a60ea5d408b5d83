// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/metrics/histogram.hpp"

namespace fleetscope::metrics {

static_assert(Histogram::bucket_index((std::uint64_t{1} << Histogram::kMaxExp) - 1) ==
                  Histogram::kBuckets - 2,
              "the last log bucket must sit just before the overflow bucket");
// Readers keep and export these counts (the /metrics histograms among them): the layout must not move.
static_assert(Histogram::kBuckets == 434 && Histogram::bucket_lower_ns(1) == 1024 &&
                  Histogram::bucket_upper_ns(1) == 1088,
              "the gateway's latency buckets are a published contract");

template struct BasicHistogramCounts<LatencyLayout>;
template class BasicHistogram<LatencyLayout>;
template HistogramCounts diff(const HistogramCounts&, const HistogramCounts&);
template double percentile_ns(const HistogramCounts&, double);
template double percentile(const HistogramCounts&, double);

} // namespace fleetscope::metrics
