// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "core/metrics/histogram.hpp"

#include <array>
#include <cstddef>
#include <cstdint>

namespace fleetscope::metrics {

/// How many `le` bounds the exported latency histograms have (the +Inf bucket not counted).
inline constexpr std::size_t kLatencyBounds = 2 * (Histogram::kMaxExp - Histogram::kMinExp) + 1;

/// The fixed `le` bounds of the exported latency histograms, in nanoseconds, ascending: every power of two
/// and every 1.5 × a power of two from 2^10 ns (1.024 µs) to 2^37 ns (137.4 s), so that neighbouring bounds
/// are 1.33× or 1.5× apart. Each bound is a boundary of Histogram's log-linear buckets (checked at compile
/// time in latency_buckets.cpp), so the count below a bound is a sum of whole buckets: exact, never
/// interpolated. The bounds never change, as Prometheus requires of a histogram's buckets.
inline constexpr std::array<std::uint64_t, kLatencyBounds> kLatencyBoundsNs = [] {
    std::array<std::uint64_t, kLatencyBounds> b{};
    std::size_t i = 0;
    for (unsigned e = Histogram::kMinExp; e <= Histogram::kMaxExp; ++e) {
        b[i++] = std::uint64_t{1} << e;
        if (e < Histogram::kMaxExp)
            b[i++] = std::uint64_t{3} << (e - 1);
    }
    return b;
}();

/// A latency histogram at Prometheus's grain: cumulative counts at kLatencyBoundsNs since the histogram
/// began, with the total count and sum. Plain value type (about 460 bytes), carried in every Snapshot.
struct LatencyBuckets {
    /// below[i]: values under kLatencyBoundsNs[i]. Values are whole nanoseconds, so a value of exactly a
    /// bound counts in the next bucket: `le` holds to within 1 ns.
    std::array<std::uint64_t, kLatencyBounds> below{};
    std::uint64_t count = 0;  // every value, those beyond the last bound included (the +Inf bucket)
    std::uint64_t sum_ns = 0; // sum of the values

    /// Folds a copy of Histogram's 434 buckets into the bounds.
    static LatencyBuckets from(const HistogramCounts& c);
};

} // namespace fleetscope::metrics
