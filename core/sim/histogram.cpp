// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/sim/histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace fleetscope::sim {

unsigned Histogram::bucket_of(std::uint64_t micros)
{
    if (micros < (1u << kExactBits))
        return static_cast<unsigned>(micros);
    // shift >= 1: the value keeps kExactBits significant bits, the top one always set.
    const unsigned shift = std::min<unsigned>(std::bit_width(micros) - kExactBits, kMaxShift);
    const std::uint64_t mantissa = std::min<std::uint64_t>(micros >> shift, (1u << kExactBits) - 1);
    return (1u << kExactBits) + (shift - 1) * kSubBuckets + static_cast<unsigned>(mantissa - kSubBuckets);
}

std::uint64_t Histogram::midpoint_of(unsigned bucket)
{
    if (bucket < (1u << kExactBits))
        return bucket;
    const unsigned rel = bucket - (1u << kExactBits);
    const unsigned shift = rel / kSubBuckets + 1;
    const std::uint64_t mantissa = kSubBuckets + rel % kSubBuckets;
    const std::uint64_t low = mantissa << shift;
    return low + (std::uint64_t{1} << shift) / 2;
}

void Histogram::record(std::uint64_t micros)
{
    ++buckets_[bucket_of(micros)];
    ++count_;
    max_ = std::max(max_, micros);
    sum_ += static_cast<long double>(micros);
}

void Histogram::merge(const Histogram& other)
{
    for (unsigned i = 0; i < kBuckets; ++i)
        buckets_[i] += other.buckets_[i];
    count_ += other.count_;
    max_ = std::max(max_, other.max_);
    sum_ += other.sum_;
}

std::uint64_t Histogram::quantile(double q) const
{
    if (count_ == 0)
        return 0;
    const auto rank = std::max<std::uint64_t>(
        1, static_cast<std::uint64_t>(std::ceil(std::clamp(q, 0.0, 1.0) * static_cast<double>(count_))));
    std::uint64_t seen = 0;
    for (unsigned i = 0; i < kBuckets; ++i) {
        seen += buckets_[i];
        if (seen >= rank)
            return std::min(midpoint_of(i), max_); // a midpoint may lie above the largest value recorded
    }
    return max_;
}

LatencySummary Histogram::summary() const
{
    auto ms = [](std::uint64_t us) { return static_cast<double>(us) / 1000.0; };
    LatencySummary s;
    s.count = count_;
    if (count_ == 0)
        return s;
    s.mean_ms = static_cast<double>(sum_ / static_cast<long double>(count_)) / 1000.0;
    s.p50_ms = ms(quantile(0.50));
    s.p90_ms = ms(quantile(0.90));
    s.p99_ms = ms(quantile(0.99));
    s.p999_ms = ms(quantile(0.999));
    s.max_ms = ms(max_);
    return s;
}

} // namespace fleetscope::sim
