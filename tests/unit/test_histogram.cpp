// SPDX-License-Identifier: GPL-3.0-or-later
// The log-linear histogram at both precisions in use: the gateway's (metrics::Histogram, 6.25 %) and the
// simulator's (sim::LatencyHistogram, 1.6 %). One implementation serves both; these tests hold each layout to
// its promise.
#include "core/metrics/histogram.hpp"
#include "core/sim/latency.hpp"

#include <QTest>

#include <cmath>
#include <cstdint>

using namespace fleetscope;

namespace {

// Every value lands in a bucket that contains it, buckets tile the range without gaps, and each is at most
// 2^-SubBits wide relative to its lower bound.
template <class Layout>
void check_layout()
{
    constexpr double kWidth = 1.0 / double(1u << Layout::kSubBits);
    for (std::size_t i = 1; i + 1 < Layout::kBuckets; ++i) {
        const std::uint64_t lo = Layout::lower(i);
        const std::uint64_t hi = Layout::upper(i);
        QCOMPARE(Layout::upper(i - 1), lo);
        QCOMPARE(Layout::index(lo), i);
        QCOMPARE(Layout::index(hi - 1), i);
        QVERIFY2(double(hi - lo) / double(lo) <= kWidth + 1e-12, qPrintable(QString::number(i)));
    }
    QCOMPARE(Layout::index(0), std::size_t{0});
    QCOMPARE(Layout::index((std::uint64_t{1} << Layout::kMinExp) - 1), std::size_t{0});
    QCOMPARE(Layout::index(std::uint64_t{1} << Layout::kMaxExp), Layout::kBuckets - 1);
    QCOMPARE(Layout::index(UINT64_MAX), Layout::kBuckets - 1);
    QCOMPARE(Layout::upper(Layout::kBuckets - 1), Layout::lower(Layout::kBuckets - 1));
}

// 1..100,000 µs recorded once each: every percentile lands within one bucket width of the exact rank.
template <class Layout>
void check_percentiles()
{
    metrics::BasicHistogram<Layout> h;
    for (std::uint64_t us = 1; us <= 100'000; ++us)
        h.record(std::chrono::microseconds(us));
    const auto c = h.counts();
    QCOMPARE(c.count, std::uint64_t{100'000});
    QCOMPARE(c.sum_ns, std::uint64_t{100'000} * 100'001 / 2 * 1000);
    const double width = 1.0 / double(1u << Layout::kSubBits);
    for (double q : {0.01, 0.5, 0.9, 0.99, 0.999}) {
        const double want = q * 100'000 * 1000;
        const double got = metrics::percentile_ns(c, q);
        QVERIFY2(std::abs(got - want) <= want * width,
                 qPrintable(QStringLiteral("q %1: %2 ns, want %3").arg(q).arg(got).arg(want)));
        QCOMPARE(metrics::percentile(c, q), got / 1e6);
    }
}

} // namespace

class TestHistogram : public QObject {
    Q_OBJECT

private slots:
    void gatewayLayout()
    {
        check_layout<metrics::LatencyLayout>();
        // The gateway's buckets are read and exported by others: their bounds stay where they were.
        QCOMPARE(metrics::Histogram::kBuckets, std::size_t{434});
        QCOMPARE(metrics::Histogram::bucket_lower_ns(1), std::uint64_t{1024});
        QCOMPARE(metrics::Histogram::bucket_lower_ns(metrics::Histogram::kBuckets - 1),
                 std::uint64_t{1} << 37);
        QVERIFY(sizeof(metrics::Histogram) <= 4096);
    }

    void simulatorLayout()
    {
        check_layout<sim::LatencyLayout>();
        // The simulator's precision: 64 sub-buckets per power of two, and a range past any run (a day).
        QCOMPARE(sim::LatencyLayout::kSubBits, 6u);
        QVERIFY(sim::LatencyLayout::lower(sim::LatencyLayout::kBuckets - 1) > 86'400ull * 1'000'000'000);
    }

    void percentilesWithinPrecision()
    {
        check_percentiles<metrics::LatencyLayout>();
        check_percentiles<sim::LatencyLayout>();
    }

    void mergeAndDiff()
    {
        sim::LatencyHistogram a;
        sim::LatencyHistogram b;
        sim::LatencyHistogram both;
        for (std::uint64_t ns : {5'000ull, 70'000ull, 3'000'000ull}) {
            a.record_ns(ns);
            both.record_ns(ns);
        }
        for (std::uint64_t ns : {900ull, 70'001ull, 40'000'000'000ull}) {
            b.record_ns(ns);
            both.record_ns(ns);
        }
        auto merged = a.counts();
        merged += b.counts();
        QCOMPARE(merged.buckets, both.counts().buckets);
        QCOMPARE(merged.count, std::uint64_t{6});
        QCOMPARE(merged.sum_ns, both.counts().sum_ns);
        const auto d = metrics::diff(merged, a.counts());
        QCOMPARE(d.buckets, b.counts().buckets);
        QCOMPARE(d.sum_ns, b.counts().sum_ns);
    }

    void simulatorSummary()
    {
        QCOMPARE(sim::summarize(sim::LatencyCounts{}, 0).count, std::uint64_t{0});
        QCOMPARE(sim::summarize(sim::LatencyCounts{}, 0).p99_ms, 0.0);

        sim::LatencyHistogram h;
        for (std::uint64_t us = 1; us <= 10'000; ++us)
            h.record_ns(us * 1000);
        const auto s = sim::summarize(h.counts(), 10'000'000);
        QCOMPARE(s.count, std::uint64_t{10'000});
        QVERIFY(std::abs(s.mean_ms - 5.0005) < 1e-9);
        QVERIFY(std::abs(s.p50_ms - 5.0) <= 5.0 / 64);
        QVERIFY(std::abs(s.p99_ms - 9.9) <= 9.9 / 64);
        QVERIFY(s.p50_ms <= s.p90_ms && s.p90_ms <= s.p99_ms && s.p99_ms <= s.p999_ms);
        QVERIFY(s.p999_ms <= s.max_ms);
        QCOMPARE(s.max_ms, 10.0);

        // One value: every percentile is that value, not the middle of its bucket above it.
        sim::LatencyHistogram one;
        one.record_ns(1'000'000);
        const auto s1 = sim::summarize(one.counts(), 1'000'000);
        QVERIFY(s1.p50_ms <= 1.0 && s1.p50_ms >= 1.0 - 1.0 / 64);
        QCOMPARE(s1.max_ms, 1.0);
    }
};

QTEST_GUILESS_MAIN(TestHistogram)
#include "test_histogram.moc"
