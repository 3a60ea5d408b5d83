// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/metrics/histogram.hpp"

#include <algorithm>
#include <cmath>

namespace fleetscope::metrics {

static_assert(Histogram::bucket_index((std::uint64_t{1} << Histogram::kMaxExp) - 1) ==
                  Histogram::kBuckets - 2,
              "the last log bucket must sit just before the overflow bucket");

HistogramCounts& HistogramCounts::operator+=(const HistogramCounts& other)
{
    for (std::size_t i = 0; i < kBuckets; ++i)
        buckets[i] += other.buckets[i];
    count += other.count;
    sum_ns += other.sum_ns;
    return *this;
}

HistogramCounts Histogram::counts() const
{
    HistogramCounts c;
    for (std::size_t i = 0; i < kBuckets; ++i) {
        c.buckets[i] = buckets_[i].load(std::memory_order_relaxed);
        c.count += c.buckets[i];
    }
    c.sum_ns = sum_ns_.load(std::memory_order_relaxed);
    return c;
}

HistogramCounts diff(const HistogramCounts& later, const HistogramCounts& earlier)
{
    HistogramCounts d;
    for (std::size_t i = 0; i < HistogramCounts::kBuckets; ++i) {
        d.buckets[i] = later.buckets[i] > earlier.buckets[i] ? later.buckets[i] - earlier.buckets[i] : 0;
        d.count += d.buckets[i];
    }
    d.sum_ns = later.sum_ns > earlier.sum_ns ? later.sum_ns - earlier.sum_ns : 0;
    return d;
}

double percentile_ns(const HistogramCounts& c, double q)
{
    if (c.count == 0)
        return 0;
    q = std::clamp(std::isnan(q) ? 0.0 : q, 0.0, 1.0);
    const auto rank = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(std::ceil(q * double(c.count))));
    std::uint64_t below = 0;
    for (std::size_t i = 0; i < HistogramCounts::kBuckets; ++i) {
        const std::uint64_t n = c.buckets[i];
        if (n == 0 || below + n < rank) {
            below += n;
            continue;
        }
        const auto lo = double(Histogram::bucket_lower_ns(i));
        const auto hi = double(Histogram::bucket_upper_ns(i));
        // The rank's position inside the bucket, taking each value as the centre of its equal share.
        const double frac = (double(rank - below) - 0.5) / double(n);
        return lo + frac * (hi - lo);
    }
    return double(Histogram::bucket_lower_ns(HistogramCounts::kBuckets - 1));
}

double percentile(const HistogramCounts& c, double q)
{
    return percentile_ns(c, q) / 1e6;
}

} // namespace fleetscope::metrics
