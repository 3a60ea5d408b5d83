// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>

namespace fleetscope::metrics {

/// The bucket layout of a log-linear histogram, its precision and range as parameters: 2^SubBits linear
/// sub-buckets per power of two from 2^MinExp to 2^MaxExp, so a bucket is at most 2^-SubBits wide relative to
/// its lower bound. Bucket 0 holds every value under 2^MinExp and the last bucket (the overflow) every value
/// from 2^MaxExp on. Finding a bucket is one count-leading-zeros and one shift.
template <unsigned SubBits, unsigned MinExp, unsigned MaxExp>
struct LogLinearLayout {
    static_assert(SubBits <= MinExp, "a power of two below 2^SubBits cannot hold 2^SubBits sub-buckets");
    static_assert(MinExp < MaxExp && MaxExp < 64, "the range must lie inside 64-bit values");

    static constexpr unsigned kSubBits = SubBits;
    static constexpr unsigned kMinExp = MinExp;
    static constexpr unsigned kMaxExp = MaxExp;
    static constexpr std::size_t kBuckets = 2 + (std::size_t{MaxExp - MinExp} << SubBits);

    static constexpr std::size_t index(std::uint64_t v)
    {
        if (v < (std::uint64_t{1} << kMinExp))
            return 0;
        const unsigned exp = 63u - static_cast<unsigned>(std::countl_zero(v));
        if (exp >= kMaxExp)
            return kBuckets - 1;
        const auto sub = static_cast<std::size_t>((v >> (exp - kSubBits)) & ((1u << kSubBits) - 1));
        return 1 + (std::size_t{exp - kMinExp} << kSubBits) + sub;
    }
    /// Inclusive lower bound of bucket `i`.
    static constexpr std::uint64_t lower(std::size_t i)
    {
        if (i == 0)
            return 0;
        if (i >= kBuckets - 1)
            return std::uint64_t{1} << kMaxExp;
        const std::size_t exp = kMinExp + ((i - 1) >> kSubBits);
        const std::size_t sub = (i - 1) & ((std::size_t{1} << kSubBits) - 1);
        return (std::uint64_t{(1u << kSubBits) + sub}) << (exp - kSubBits);
    }
    /// Exclusive upper bound of bucket `i`. The overflow bucket's is reported as its lower bound: nothing is
    /// known about how far beyond the range its values lie.
    static constexpr std::uint64_t upper(std::size_t i)
    {
        return i >= kBuckets - 1 ? lower(i) : lower(i + 1);
    }
};

/// A plain copy of a BasicHistogram's buckets, for its reader to keep, subtract, merge and query.
template <class Layout>
struct BasicHistogramCounts {
    static constexpr std::size_t kBuckets = Layout::kBuckets;

    std::array<std::uint64_t, kBuckets> buckets{};
    std::uint64_t count = 0;  // sum of buckets
    std::uint64_t sum_ns = 0; // sum of recorded values, for a Prometheus _sum and a mean

    BasicHistogramCounts& operator+=(const BasicHistogramCounts& other)
    {
        for (std::size_t i = 0; i < kBuckets; ++i)
            buckets[i] += other.buckets[i];
        count += other.count;
        sum_ns += other.sum_ns;
        return *this;
    }
};

/// A fixed log-linear latency histogram in nanoseconds, its buckets laid out by `Layout`. Recording is one
/// bucket lookup and two uncontended relaxed load-and-store pairs, with no allocation. Thread ownership:
/// written by ONE owner thread only (record); any other thread may read it through counts(), which never
/// blocks the owner and sees every completed record eventually.
template <class Layout>
class BasicHistogram {
public:
    using Counts = BasicHistogramCounts<Layout>;
    static constexpr std::size_t kBuckets = Layout::kBuckets;
    static constexpr unsigned kSubBits = Layout::kSubBits;
    static constexpr unsigned kMinExp = Layout::kMinExp;
    static constexpr unsigned kMaxExp = Layout::kMaxExp;

    /// Owner thread only. A single writer may load-add-store: no locked read-modify-write is needed.
    void record_ns(std::uint64_t ns)
    {
        auto& b = buckets_[bucket_index(ns)];
        b.store(b.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
        sum_ns_.store(sum_ns_.load(std::memory_order_relaxed) + ns, std::memory_order_relaxed);
    }
    void record(std::chrono::nanoseconds d)
    {
        record_ns(d.count() < 0 ? 0 : static_cast<std::uint64_t>(d.count()));
    }

    /// Any thread: a copy of the buckets as of now. `count` is the sum of the copied buckets, so it always
    /// agrees with them even while the owner records.
    Counts counts() const
    {
        Counts c;
        for (std::size_t i = 0; i < kBuckets; ++i) {
            c.buckets[i] = buckets_[i].load(std::memory_order_relaxed);
            c.count += c.buckets[i];
        }
        c.sum_ns = sum_ns_.load(std::memory_order_relaxed);
        return c;
    }

    static constexpr std::size_t bucket_index(std::uint64_t ns) { return Layout::index(ns); }
    static constexpr std::uint64_t bucket_lower_ns(std::size_t i) { return Layout::lower(i); }
    static constexpr std::uint64_t bucket_upper_ns(std::size_t i) { return Layout::upper(i); }

private:
    std::array<std::atomic<std::uint64_t>, kBuckets> buckets_{};
    std::atomic<std::uint64_t> sum_ns_{0};
};

/// What was recorded between two copies of the same histogram (`later` taken after `earlier`). Buckets are
/// monotonic; a bucket that went backwards (copies of different histograms) counts as 0.
template <class Layout>
BasicHistogramCounts<Layout> diff(const BasicHistogramCounts<Layout>& later,
                                  const BasicHistogramCounts<Layout>& earlier)
{
    BasicHistogramCounts<Layout> d;
    for (std::size_t i = 0; i < Layout::kBuckets; ++i) {
        d.buckets[i] = later.buckets[i] > earlier.buckets[i] ? later.buckets[i] - earlier.buckets[i] : 0;
        d.count += d.buckets[i];
    }
    d.sum_ns = later.sum_ns > earlier.sum_ns ? later.sum_ns - earlier.sum_ns : 0;
    return d;
}

/// The value at quantile `q` (0..1, e.g. 0.99) in nanoseconds, interpolated linearly inside the bucket that
/// holds rank ceil(q * count); so the error is at most one bucket width. 0 when `c` is empty. Values in the
/// overflow bucket are reported as its lower bound.
template <class Layout>
double percentile_ns(const BasicHistogramCounts<Layout>& c, double q)
{
    if (c.count == 0)
        return 0;
    q = std::clamp(std::isnan(q) ? 0.0 : q, 0.0, 1.0);
    const auto rank = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(std::ceil(q * double(c.count))));
    std::uint64_t below = 0;
    for (std::size_t i = 0; i < Layout::kBuckets; ++i) {
        const std::uint64_t n = c.buckets[i];
        if (n == 0 || below + n < rank) {
            below += n;
            continue;
        }
        const auto lo = double(Layout::lower(i));
        const auto hi = double(Layout::upper(i));
        // The rank's position inside the bucket, taking each value as the centre of its equal share.
        const double frac = (double(rank - below) - 0.5) / double(n);
        return lo + frac * (hi - lo);
    }
    return double(Layout::lower(Layout::kBuckets - 1));
}

/// The same in MILLISECONDS.
template <class Layout>
double percentile(const BasicHistogramCounts<Layout>& c, double q)
{
    return percentile_ns(c, q) / 1e6;
}

/// The gateway's latency histogram: 16 sub-buckets per power of two (6.25 %) from 2^10 ns (~1 µs) to 2^37 ns
/// (~137 s); 434 buckets, about 3.5 KB, small enough for one per worker per series.
using LatencyLayout = LogLinearLayout<4, 10, 37>;
using HistogramCounts = BasicHistogramCounts<LatencyLayout>;
using Histogram = BasicHistogram<LatencyLayout>;

// Instantiated once, in histogram.cpp.
extern template struct BasicHistogramCounts<LatencyLayout>;
extern template class BasicHistogram<LatencyLayout>;
extern template HistogramCounts diff(const HistogramCounts&, const HistogramCounts&);
extern template double percentile_ns(const HistogramCounts&, double);
extern template double percentile(const HistogramCounts&, double);

} // namespace fleetscope::metrics
