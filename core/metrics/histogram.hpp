// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <array>
#include <atomic>
#include <bit>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace fleetscope::metrics {

/// A plain copy of a Histogram's buckets, for the sampler to keep, subtract, merge and query.
/// Bucket 0 holds values under 1.024 µs, the last bucket values of 2^37 ns (~137 s) and beyond; see
/// Histogram.
struct HistogramCounts {
    static constexpr std::size_t kBuckets = 2 + (37 - 10) * 16;

    std::array<std::uint64_t, kBuckets> buckets{};
    std::uint64_t count = 0;  // sum of buckets
    std::uint64_t sum_ns = 0; // sum of recorded values, for a Prometheus summary's _sum

    HistogramCounts& operator+=(const HistogramCounts& other);
};

/// A fixed log-linear latency histogram in nanoseconds: 16 linear sub-buckets per power of two from 2^10 ns
/// (~1 µs) to 2^37 ns (~137 s), so each bucket is at most 6.25% wide relative to its lower bound; 434
/// buckets, about 3.5 KB. Recording is one shift, one count-leading-zeros and an uncontended relaxed load and
/// store. Thread ownership: written by ONE owner thread only (record); any other thread may read it through
/// counts(), which never blocks the owner and sees every completed record eventually.
class Histogram {
public:
    static constexpr std::size_t kBuckets = HistogramCounts::kBuckets;
    static constexpr unsigned kSubBits = 4; // 16 sub-buckets per power of two
    static constexpr unsigned kMinExp = 10; // 2^10 ns = 1.024 µs: the first bucket of the log range
    static constexpr unsigned kMaxExp = 37; // 2^37 ns = ~137 s: the overflow bucket starts here

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
    HistogramCounts counts() const;

    static constexpr std::size_t bucket_index(std::uint64_t ns)
    {
        if (ns < (std::uint64_t{1} << kMinExp))
            return 0;
        const unsigned exp = 63u - static_cast<unsigned>(std::countl_zero(ns));
        if (exp >= kMaxExp)
            return kBuckets - 1;
        const auto sub = static_cast<std::size_t>((ns >> (exp - kSubBits)) & ((1u << kSubBits) - 1));
        return 1 + (exp - kMinExp) * (std::size_t{1} << kSubBits) + sub;
    }
    /// Inclusive lower and exclusive upper bound of bucket `i`, in ns. The overflow bucket's upper bound is
    /// reported as its lower bound: nothing is known about how far beyond the range its values lie.
    static constexpr std::uint64_t bucket_lower_ns(std::size_t i)
    {
        if (i == 0)
            return 0;
        if (i == kBuckets - 1)
            return std::uint64_t{1} << kMaxExp;
        const std::size_t exp = kMinExp + (i - 1) / (std::size_t{1} << kSubBits);
        const std::size_t sub = (i - 1) % (std::size_t{1} << kSubBits);
        return (std::uint64_t{(1u << kSubBits) + sub}) << (exp - kSubBits);
    }
    static constexpr std::uint64_t bucket_upper_ns(std::size_t i)
    {
        if (i == kBuckets - 1)
            return bucket_lower_ns(i);
        return bucket_lower_ns(i + 1);
    }

private:
    std::array<std::atomic<std::uint64_t>, kBuckets> buckets_{};
    std::atomic<std::uint64_t> sum_ns_{0};
};

/// What was recorded between two copies of the same histogram (`later` taken after `earlier`). Buckets are
/// monotonic; a bucket that went backwards (copies of different histograms) counts as 0.
HistogramCounts diff(const HistogramCounts& later, const HistogramCounts& earlier);

/// The value at quantile `q` (0..1, e.g. 0.99) in MILLISECONDS, interpolated linearly inside the bucket that
/// holds rank ceil(q * count); so the error is at most one bucket width (6.25%). 0 when `c` is empty.
/// Values in the overflow bucket are reported as its lower bound (~137 s).
double percentile(const HistogramCounts& c, double q);

/// The same in nanoseconds.
double percentile_ns(const HistogramCounts& c, double q);

} // namespace fleetscope::metrics
