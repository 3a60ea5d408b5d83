// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <array>
#include <cstdint>

namespace fleetscope::sim {

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

/// A log-linear latency histogram in microseconds: exact below 128 µs, then 64 sub-buckets per power of two,
/// so every recorded value is known within 1.6 %. Fixed size (about 20 KB), no allocation when recording, and
/// cheap to merge: each simulator thread keeps its own and the report merges them once at the end.
/// Not thread-safe: one owner thread records, and merging happens after that thread has stopped.
class Histogram {
public:
    void record(std::uint64_t micros);
    void merge(const Histogram& other);

    std::uint64_t count() const { return count_; }
    std::uint64_t max() const { return max_; }
    /// The value at quantile `q` in [0, 1], as the midpoint of its bucket (exact below 128 µs); 0 when empty.
    std::uint64_t quantile(double q) const;
    LatencySummary summary() const;

    static constexpr unsigned kExactBits = 7; // values below 128 µs have their own bucket
    static constexpr unsigned kSubBuckets = 1u << (kExactBits - 1); // per power of two above that
    static constexpr unsigned kMaxShift = 40;                       // covers 2^47 µs, about four years
    static constexpr unsigned kBuckets = (1u << kExactBits) + kMaxShift * kSubBuckets;

    static unsigned bucket_of(std::uint64_t micros);
    static std::uint64_t midpoint_of(unsigned bucket);

private:
    std::array<std::uint64_t, kBuckets> buckets_{};
    std::uint64_t count_ = 0;
    std::uint64_t max_ = 0;
    long double sum_ = 0;
};

} // namespace fleetscope::sim
