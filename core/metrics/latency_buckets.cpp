// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/metrics/latency_buckets.hpp"

namespace fleetscope::metrics {

namespace {

/// For each bound, the first Histogram bucket at or above it: the count below the bound is the sum of the
/// buckets before that one.
constexpr std::array<std::size_t, kLatencyBounds> kFirstBucketAbove = [] {
    std::array<std::size_t, kLatencyBounds> idx{};
    for (std::size_t i = 0; i < kLatencyBounds; ++i)
        idx[i] = Histogram::bucket_index(kLatencyBoundsNs[i]);
    return idx;
}();

constexpr bool bounds_are_bucket_boundaries()
{
    for (std::size_t i = 0; i < kLatencyBounds; ++i) {
        if (Histogram::bucket_lower_ns(kFirstBucketAbove[i]) != kLatencyBoundsNs[i])
            return false;
        if (i > 0 && kLatencyBoundsNs[i] <= kLatencyBoundsNs[i - 1])
            return false;
    }
    return true;
}

// If Histogram's bucket layout changes, this fails the build rather than letting a bound split a bucket,
// which would make the cumulative counts guesses.
static_assert(bounds_are_bucket_boundaries(),
              "every `le` bound must start a Histogram bucket, in ascending order");
static_assert(kLatencyBoundsNs.back() == std::uint64_t{1} << Histogram::kMaxExp,
              "the last bound is where Histogram's overflow bucket begins");

} // namespace

LatencyBuckets LatencyBuckets::from(const HistogramCounts& c)
{
    LatencyBuckets out;
    std::uint64_t running = 0;
    std::size_t bucket = 0;
    for (std::size_t i = 0; i < kLatencyBounds; ++i) {
        for (; bucket < kFirstBucketAbove[i]; ++bucket)
            running += c.buckets[bucket];
        out.below[i] = running;
    }
    for (; bucket < HistogramCounts::kBuckets; ++bucket)
        running += c.buckets[bucket];
    // The sum of the buckets rather than c.count, so that +Inf is never below the last finite bucket even for
    // a hand-built HistogramCounts whose count disagrees.
    out.count = running;
    out.sum_ns = c.sum_ns;
    return out;
}

} // namespace fleetscope::metrics
