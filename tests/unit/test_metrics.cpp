// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/metrics/histogram.hpp"
#include "core/metrics/hub.hpp"
#include "core/metrics/latency_buckets.hpp"
#include "core/metrics/prometheus.hpp"
#include "core/metrics/registry.hpp"
#include "core/metrics/system.hpp"
#include "core/util/clock.hpp"

#include <QDir>
#include <QList>
#include <QRegularExpression>
#include <QSet>
#include <QString>
#include <QStringList>
#include <QTest>

#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <thread>
#include <utility>
#include <vector>

#ifdef __linux__
#include <arpa/inet.h>
#include <fcntl.h>
#include <fstream>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#endif

using namespace fleetscope::metrics;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::uint64_t kUs = 1'000;
constexpr std::uint64_t kMs = 1'000'000;
constexpr std::uint64_t kS = 1'000'000'000;

QList<qulonglong> repeat(std::uint64_t v, int n)
{
    return QList<qulonglong>(n, v);
}

#ifdef __linux__
// Owns a socket descriptor for the length of a test.
struct Fd {
    int fd = -1;
    explicit Fd(int f)
        : fd(f)
    {}
    Fd(Fd&& o) noexcept
        : fd(std::exchange(o.fd, -1))
    {}
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    Fd& operator=(Fd&&) = delete;
    ~Fd()
    {
        if (fd >= 0)
            ::close(fd);
    }
};

int somaxconn()
{
    std::ifstream f("/proc/sys/net/core/somaxconn");
    int v = 4096;
    f >> v;
    return v;
}
#endif

} // namespace

class TestMetrics : public QObject {
    Q_OBJECT

private slots:
    // Histogram
    void bucketBoundsCoverEveryValue();
    void percentiles_data();
    void percentiles();
    void emptyHistogramIsZero();
    void diffKeepsOnlyTheInterval();
    void latencyBoundsAreBucketEdges();
    void latencyBucketsAreExact();
    void concurrentSamplerLosesNothing();

    // Registry
    void registrySlotsAreCacheLinePadded();
    void registryTotalsSumEveryWorker();

    // Hub
    void hubDeliversInOrder();
    void hubOverflowDropsAndCounts();
    void hubPrunesExpiredSubscribers();
    void hubProducerConsumerThreads();

    // System probes
    void raiseFdLimit();
    void openFdCountFollowsOpens();
    void rssIsPositive();
    void processMemoryAndStart();
    void listenQueue_data();
    void listenQueue();
    void listenQueueOnNonListeningSocket();
    void listenCountersReadable();
    void parseListenCounters_data();
    void parseListenCounters();

    // Prometheus
    void prometheusLines_data();
    void prometheusLines();
    void prometheusWellFormed();
    void prometheusOmitsUnavailable();
    void prometheusHistogram();
};

void TestMetrics::bucketBoundsCoverEveryValue()
{
    std::vector<std::uint64_t> values = {0, 1, 999, 1023, 1024, 1025, 1087, 1088, 123'456, 5 * kMs, 99 * kS};
    for (unsigned e = 10; e < 37; ++e) {
        const std::uint64_t p = std::uint64_t{1} << e;
        values.insert(values.end(), {p - 1, p, p + 1, p + p / 3});
    }
    for (const std::uint64_t v : values) {
        const std::size_t i = Histogram::bucket_index(v);
        QVERIFY2(i < Histogram::kBuckets, qPrintable(QString::number(v)));
        const std::uint64_t lo = Histogram::bucket_lower_ns(i);
        const std::uint64_t hi = Histogram::bucket_upper_ns(i);
        QVERIFY2(lo <= v && v < hi, qPrintable(QStringLiteral("%1 in [%2, %3)").arg(v).arg(lo).arg(hi)));
        if (i > 0)
            QVERIFY2(double(hi - lo) / double(lo) <= 1.0 / 16 + 1e-12, qPrintable(QString::number(v)));
    }
    QCOMPARE(Histogram::bucket_index(std::uint64_t{1} << 37), Histogram::kBuckets - 1);
    QCOMPARE(Histogram::bucket_index(UINT64_MAX), Histogram::kBuckets - 1);
    // Each log bucket follows the previous one without a gap.
    for (std::size_t i = 1; i + 1 < Histogram::kBuckets; ++i)
        QCOMPARE(Histogram::bucket_upper_ns(i - 1), Histogram::bucket_lower_ns(i));
    QVERIFY(sizeof(Histogram) <= 4096);
}

void TestMetrics::percentiles_data()
{
    QTest::addColumn<QList<qulonglong>>("values");
    QTest::addColumn<double>("q");

    QList<qulonglong> uniform;
    for (int k = 1; k <= 1000; ++k)
        uniform.append(qulonglong(k) * kUs);
    // Exponential with mean 2 ms, through its inverse CDF at evenly spaced probabilities: deterministic.
    QList<qulonglong> exponential;
    const int n = 20'000;
    for (int k = 0; k < n; ++k)
        exponential.append(qulonglong(-std::log(1.0 - (k + 0.5) / n) * 2.0 * kMs));
    QList<qulonglong> bimodal = repeat(1 * kMs, 900) + repeat(100 * kMs, 100);
    QList<qulonglong> lognormalish;
    for (int k = 0; k < 5000; ++k)
        lognormalish.append(qulonglong(std::exp(8.0 + 6.0 * (k % 97) / 97.0) * 3.0 + k));

    for (const double q : {0.5, 0.9, 0.99, 0.999}) {
        QTest::addRow("uniform 1..1000us p%g", q * 100) << uniform << q;
        QTest::addRow("exponential mean 2ms p%g", q * 100) << exponential << q;
        QTest::addRow("wide spread p%g", q * 100) << lognormalish << q;
    }
    QTest::addRow("uniform p0") << uniform << 0.0;
    QTest::addRow("uniform p100") << uniform << 1.0;
    QTest::addRow("constant 5ms p50") << repeat(5 * kMs, 10'000) << 0.5;
    QTest::addRow("constant 5ms p99") << repeat(5 * kMs, 10'000) << 0.99;
    QTest::addRow("bimodal p50") << bimodal << 0.5;
    QTest::addRow("bimodal p90") << bimodal << 0.9;
    QTest::addRow("bimodal p91") << bimodal << 0.91;
    QTest::addRow("bimodal p99") << bimodal << 0.99;
    QTest::addRow("single value 42us") << repeat(42 * kUs, 1) << 0.99;
    QTest::addRow("sub-microsecond") << repeat(500, 100) << 0.5;
    QTest::addRow("beyond the range 200s") << repeat(200 * kS, 10) << 0.5;
}

void TestMetrics::percentiles()
{
    QFETCH(QList<qulonglong>, values);
    QFETCH(double, q);

    Histogram h;
    for (const qulonglong v : values)
        h.record_ns(v);
    const HistogramCounts c = h.counts();
    QCOMPARE(c.count, std::uint64_t(values.size()));

    std::sort(values.begin(), values.end());
    const auto rank = std::max<qsizetype>(1, qsizetype(std::ceil(q * double(values.size()))));
    const double exact_ms = double(std::min<qulonglong>(values[rank - 1], qulonglong{1} << 37)) / 1e6;
    const double got_ms = percentile(c, q);
    // One bucket's width (6.25% of its lower bound) or, below the log range, the underflow bucket's width.
    const double tolerance_ms = exact_ms / 16 + 1.024e-3;
    QVERIFY2(
        std::abs(got_ms - exact_ms) <= tolerance_ms,
        qPrintable(QStringLiteral("p%1: got %2 ms, exact %3 ms").arg(q * 100).arg(got_ms).arg(exact_ms)));
    QCOMPARE(percentile_ns(c, q) / 1e6, got_ms);
}

void TestMetrics::emptyHistogramIsZero()
{
    const Histogram h;
    QCOMPARE(h.counts().count, std::uint64_t{0});
    QCOMPARE(percentile(h.counts(), 0.99), 0.0);
}

void TestMetrics::diffKeepsOnlyTheInterval()
{
    Histogram h;
    for (int i = 0; i < 1000; ++i)
        h.record_ns(100 * kMs); // a slow first interval
    const HistogramCounts first = h.counts();
    for (int i = 0; i < 500; ++i)
        h.record(std::chrono::microseconds(300)); // a fast second one
    const HistogramCounts second = h.counts();

    const HistogramCounts d = diff(second, first);
    QCOMPARE(d.count, std::uint64_t{500});
    QCOMPARE(d.sum_ns, std::uint64_t{500} * 300 * kUs);
    QCOMPARE(d.buckets[Histogram::bucket_index(100 * kMs)], std::uint64_t{0});
    QCOMPARE(d.buckets[Histogram::bucket_index(300 * kUs)], std::uint64_t{500});
    QVERIFY(std::abs(percentile(d, 0.99) - 0.3) <= 0.3 / 16);
    QVERIFY(percentile(second, 0.99) > 90); // the whole history still sees the slow interval

    // Copies of different histograms never underflow.
    QCOMPARE(diff(first, second).count, std::uint64_t{0});

    HistogramCounts merged = first;
    merged += d;
    QCOMPARE(merged.count, second.count);
    QVERIFY(merged.buckets == second.buckets);
}

void TestMetrics::latencyBoundsAreBucketEdges()
{
    // Powers of two and 1.5 × powers of two of nanoseconds, 1.024 µs to 2^37 ns, ascending.
    QCOMPARE(kLatencyBoundsNs.size(), std::size_t{55});
    QCOMPARE(kLatencyBoundsNs.front(), std::uint64_t{1024});
    QCOMPARE(kLatencyBoundsNs.back(), std::uint64_t{1} << 37);
    for (std::size_t i = 0; i < kLatencyBoundsNs.size(); ++i) {
        const std::uint64_t b = kLatencyBoundsNs[i];
        QVERIFY(std::has_single_bit(b) || (b % 3 == 0 && std::has_single_bit(b / 3)));
        if (i > 0) {
            const double ratio = double(b) / double(kLatencyBoundsNs[i - 1]);
            QVERIFY2(ratio == 1.5 || std::abs(ratio - 4.0 / 3.0) < 1e-12, qPrintable(QString::number(ratio)));
        }
        // A bound starts a bucket: the value just below it lies in the bucket before.
        QCOMPARE(Histogram::bucket_lower_ns(Histogram::bucket_index(b)), b);
        QCOMPARE(Histogram::bucket_index(b - 1) + 1, Histogram::bucket_index(b));
    }
}

void TestMetrics::latencyBucketsAreExact()
{
    // Values at, just below and just above every bound, and a spread over the whole range: each cumulative
    // count must be exactly the number of values below its bound.
    std::vector<std::uint64_t> values{0, 1, 1023, std::uint64_t{1} << 40, ~std::uint64_t{0}};
    for (const std::uint64_t b : kLatencyBoundsNs) {
        values.push_back(b - 1);
        values.push_back(b);
        values.push_back(b + 1);
    }
    std::uint64_t x = 88172645463325252ull; // xorshift64: a fixed spread, the same every run
    for (int i = 0; i < 20'000; ++i) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        values.push_back(x >> (x % 40 + 20)); // magnitudes from 0 to 2^44
    }
    Histogram h;
    std::uint64_t sum = 0;
    for (const std::uint64_t v : values) {
        h.record_ns(v);
        sum += v;
    }
    const LatencyBuckets b = LatencyBuckets::from(h.counts());
    for (std::size_t i = 0; i < kLatencyBounds; ++i) {
        const auto below = std::uint64_t(std::count_if(
            values.begin(), values.end(), [&](std::uint64_t v) { return v < kLatencyBoundsNs[i]; }));
        QVERIFY2(b.below[i] == below, qPrintable(QStringLiteral("le %1 ns: %2, expected %3")
                                                     .arg(kLatencyBoundsNs[i])
                                                     .arg(b.below[i])
                                                     .arg(below)));
    }
    QCOMPARE(b.count, std::uint64_t(values.size()));
    QCOMPARE(b.sum_ns, sum);
    QCOMPARE(LatencyBuckets::from(HistogramCounts{}).count, std::uint64_t{0});
}

void TestMetrics::concurrentSamplerLosesNothing()
{
    Histogram h;
    constexpr std::uint64_t kRecords = 2'000'000;
    std::atomic<bool> done{false};
    std::uint64_t reads = 0;
    bool monotonic = true;

    std::thread sampler([&] {
        HistogramCounts last;
        while (!done.load(std::memory_order_acquire)) {
            const HistogramCounts now = h.counts();
            for (std::size_t i = 0; i < HistogramCounts::kBuckets; ++i)
                monotonic = monotonic && now.buckets[i] >= last.buckets[i];
            last = now;
            ++reads;
        }
    });
    const auto t0 = Clock::now();
    std::thread owner([&] {
        for (std::uint64_t i = 0; i < kRecords; ++i)
            h.record_ns(kUs + (i % 4096) * 977); // spread over ~1 µs .. 4 ms
    });
    owner.join();
    const auto elapsed = Clock::now() - t0;
    done.store(true, std::memory_order_release);
    sampler.join();

    QVERIFY(monotonic);
    QVERIFY(reads > 0);
    const HistogramCounts c = h.counts();
    QCOMPARE(c.count, kRecords);
    std::uint64_t expected_sum = 0;
    for (std::uint64_t i = 0; i < kRecords; ++i)
        expected_sum += kUs + (i % 4096) * 977;
    QCOMPARE(c.sum_ns, expected_sum);
    qInfo("record_ns with a concurrent sampler: %.2f ns per record (%llu sampler reads)",
          double(std::chrono::nanoseconds(elapsed).count()) / double(kRecords),
          static_cast<unsigned long long>(reads));
}

void TestMetrics::registrySlotsAreCacheLinePadded()
{
    static_assert(alignof(WorkerMetrics) == 64);
    QCOMPARE(sizeof(WorkerMetrics) % 64, std::size_t{0});
    Registry r(3);
    QCOMPARE(r.size(), std::size_t{3});
    for (std::size_t i = 0; i < r.size(); ++i)
        QCOMPARE(reinterpret_cast<std::uintptr_t>(&r.slot(i)) % 64, std::uintptr_t{0});
}

void TestMetrics::registryTotalsSumEveryWorker()
{
    constexpr std::size_t kWorkers = 4;
    Registry r(kWorkers);
    std::vector<std::thread> workers;
    for (std::size_t w = 0; w < kWorkers; ++w) {
        workers.emplace_back([&r, w] {
            WorkerMetrics& m = r.slot(w);
            const std::uint64_t n = 10'000 * (w + 1);
            for (std::uint64_t i = 0; i < n; ++i) {
                m.requests.add();
                m.count_response(i % 10 == 0 ? 503 : 204);
                m.samples_accepted.add(2);
                m.samples_committed.add(2);
                m.ack_latency.record_ns((w + 1) * kMs);
            }
            m.accepts.add(w);
            m.count_response(99);  // not a status: ignored
            m.count_response(600); // likewise
        });
    }
    for (auto& t : workers)
        t.join();

    const WorkerTotals t = r.totals();
    const std::uint64_t total = 10'000 * (1 + 2 + 3 + 4);
    QCOMPARE(t.requests, total);
    QCOMPARE(t.responses_by_class[2], total - total / 10);
    QCOMPARE(t.responses_by_class[5], total / 10);
    QCOMPARE(t.responses_by_class[0] + t.responses_by_class[1] + t.responses_by_class[3] +
                 t.responses_by_class[4],
             std::uint64_t{0});
    QCOMPARE(t.samples_accepted, 2 * total);
    QCOMPARE(t.samples_committed, 2 * total);
    QCOMPARE(t.accepts, std::uint64_t{0 + 1 + 2 + 3});
    QCOMPARE(t.ack_latency.count, total);
    QCOMPARE(r.slot(3).read().requests, std::uint64_t{40'000});
    // 40% of the records are 4 ms, 30% 3 ms: p50 falls on 3 ms.
    QVERIFY(std::abs(percentile(t.ack_latency, 0.5) - 3.0) <= 3.0 / 16);
}

void TestMetrics::hubDeliversInOrder()
{
    Hub hub;
    auto sub = hub.subscribe(16);
    QCOMPARE(hub.subscribers(), std::size_t{1});

    for (int i = 0; i < 10; ++i) {
        Snapshot s;
        s.at_ms = i;
        s.workers.resize(2);
        s.workers[1].fibers_alive = std::uint64_t(i);
        hub.publish_snapshot(s);
    }
    std::vector<DeviceUpdate> batch;
    for (int i = 0; i < 5; ++i)
        batch.push_back({"pump-" + std::to_string(i), 1000 + i, {{"temp_c", 20.0 + i}}});
    hub.publish_updates(batch);

    Snapshot out;
    for (int i = 0; i < 10; ++i) {
        QVERIFY(sub->pop_snapshot(out));
        QCOMPARE(out.at_ms, std::int64_t{i});
        QCOMPARE(out.workers.size(), std::size_t{2});
        QCOMPARE(out.workers[1].fibers_alive, std::uint64_t(i));
        QCOMPARE(out.dropped_updates, std::uint64_t{0});
    }
    QVERIFY(!sub->pop_snapshot(out));

    std::vector<DeviceUpdate> got;
    QCOMPARE(sub->drain_updates([&](const DeviceUpdate& u) { got.push_back(u); }), std::size_t{5});
    QCOMPARE(got.size(), std::size_t{5});
    for (int i = 0; i < 5; ++i) {
        QCOMPARE(got[i].device, "pump-" + std::to_string(i));
        QCOMPARE(got[i].ts_ms, std::int64_t{1000 + i});
        QCOMPARE(got[i].metrics.at(0).value, 20.0 + i);
    }
    QCOMPARE(sub->dropped(), std::uint64_t{0});
}

void TestMetrics::hubOverflowDropsAndCounts()
{
    Hub hub;
    auto small = hub.subscribe(4);
    auto roomy = hub.subscribe(64);

    std::vector<DeviceUpdate> batch(10);
    for (int i = 0; i < 10; ++i)
        batch[i] = {"d", i, {{"m", double(i)}}};
    hub.publish_updates(batch);
    QCOMPARE(small->dropped(), std::uint64_t{6});
    QCOMPARE(roomy->dropped(), std::uint64_t{0});

    // The producer keeps what fitted and drops the rest: the oldest queued updates survive, in order.
    std::vector<std::int64_t> ts;
    small->drain_updates([&](const DeviceUpdate& u) { ts.push_back(u.ts_ms); });
    QCOMPARE(ts, (std::vector<std::int64_t>{0, 1, 2, 3}));

    for (int i = 0; i < 6; ++i) {
        Snapshot s;
        s.at_ms = i;
        hub.publish_snapshot(s);
    }
    QCOMPARE(small->dropped(), std::uint64_t{8});
    Snapshot out;
    QVERIFY(small->pop_snapshot(out));
    QCOMPARE(out.at_ms, std::int64_t{0});
    QCOMPARE(out.dropped_updates, std::uint64_t{6}); // stamped with the count when it was queued

    // Once drained, the lagging subscriber receives again and its snapshots carry the running count.
    while (small->pop_snapshot(out)) {
    }
    Snapshot later;
    later.at_ms = 99;
    hub.publish_snapshot(later);
    QVERIFY(small->pop_snapshot(out));
    QCOMPARE(out.at_ms, std::int64_t{99});
    QCOMPARE(out.dropped_updates, std::uint64_t{8});
    QVERIFY(roomy->pop_snapshot(out));
    QCOMPARE(out.dropped_updates, std::uint64_t{0});
}

void TestMetrics::hubPrunesExpiredSubscribers()
{
    Hub hub;
    auto a = hub.subscribe(8);
    auto b = hub.subscribe(8);
    std::weak_ptr<Subscription> watch = a;
    QCOMPARE(hub.subscribers(), std::size_t{2});

    a.reset();
    QVERIFY(watch.expired()); // the hub holds no strong reference
    QCOMPARE(hub.subscribers(), std::size_t{1});

    Snapshot s;
    s.at_ms = 7;
    hub.publish_snapshot(s); // prunes a
    const DeviceUpdate u{"d", 1, {{"m", 1.0}}};
    hub.publish_updates(std::span(&u, 1));
    QCOMPARE(hub.subscribers(), std::size_t{1});

    Snapshot out;
    QVERIFY(b->pop_snapshot(out));
    QCOMPARE(out.at_ms, std::int64_t{7});
    QCOMPARE(b->drain_updates([](const DeviceUpdate&) {}), std::size_t{1});

    b.reset();
    hub.publish_snapshot(s);
    QCOMPARE(hub.subscribers(), std::size_t{0});
}

void TestMetrics::hubProducerConsumerThreads()
{
    constexpr int kUpdates = 100'000;
    constexpr int kSnapshots = 1'000; // fits the snapshot queue (Subscription::kMaxSnapshots)
    Hub hub;
    auto sub = hub.subscribe(kUpdates);

    std::atomic<bool> go{false};
    // The store's writer thread: small batches, like group commits.
    std::thread writer([&] {
        while (!go.load(std::memory_order_acquire)) {
        }
        std::vector<DeviceUpdate> batch;
        for (int i = 0; i < kUpdates;) {
            batch.clear();
            for (int k = 0; k < 7 && i < kUpdates; ++k, ++i)
                batch.push_back({"dev", i, {{"v", double(i)}}});
            hub.publish_updates(batch);
        }
    });
    // The sampler thread.
    std::thread sampler([&] {
        while (!go.load(std::memory_order_acquire)) {
        }
        Snapshot s;
        s.workers.resize(4);
        for (int i = 0; i < kSnapshots; ++i) {
            s.at_ms = i;
            hub.publish_snapshot(s);
        }
    });

    // The consumer (GUI) thread drains both queues while they fill.
    int updates = 0;
    int snapshots = 0;
    bool in_order = true;
    std::thread consumer([&] {
        const auto deadline = Clock::now() + std::chrono::seconds(20);
        Snapshot out;
        while ((updates < kUpdates || snapshots < kSnapshots) && Clock::now() < deadline) {
            sub->drain_updates([&](const DeviceUpdate& u) {
                in_order =
                    in_order && u.ts_ms == updates && u.metrics.size() == 1 && u.metrics[0].value == updates;
                ++updates;
            });
            while (sub->pop_snapshot(out)) {
                in_order = in_order && out.at_ms == snapshots && out.workers.size() == 4;
                ++snapshots;
            }
        }
    });
    go.store(true, std::memory_order_release);
    writer.join();
    sampler.join();
    consumer.join();

    QVERIFY(in_order);
    QCOMPARE(updates, kUpdates);
    QCOMPARE(snapshots, kSnapshots);
    QCOMPARE(sub->dropped(), std::uint64_t{0});
}

#ifdef __linux__

void TestMetrics::raiseFdLimit()
{
    const std::int64_t before = fd_limit();
    QVERIFY(before > 0);
    const std::int64_t after = raise_fd_limit();
    QVERIFY(after >= before);
    QCOMPARE(fd_limit(), after);
    rlimit lim{};
    QCOMPARE(getrlimit(RLIMIT_NOFILE, &lim), 0);
    if (lim.rlim_max != RLIM_INFINITY)
        QCOMPARE(after, std::int64_t(lim.rlim_max));
}

void TestMetrics::openFdCountFollowsOpens()
{
    const std::int64_t n0 = open_fd_count();
    QVERIFY(n0 >= 3); // at least stdin, stdout, stderr
    std::vector<Fd> fds;
    for (int i = 0; i < 5; ++i) {
        fds.emplace_back(::open("/dev/null", O_RDONLY | O_CLOEXEC));
        QVERIFY(fds.back().fd >= 0);
    }
    QCOMPARE(open_fd_count(), n0 + 5);
    // The count agrees with a listing of /proc/self/fd (less the listing's own descriptor), whichever way
    // the kernel lets open_fd_count take it.
    const auto listed = QDir(QStringLiteral("/proc/self/fd"))
                            .entryList(QDir::AllEntries | QDir::System | QDir::NoDotAndDotDot)
                            .size() -
                        1;
    QCOMPARE(open_fd_count(), std::int64_t(listed));
    fds.clear();
    QCOMPARE(open_fd_count(), n0);
}

void TestMetrics::rssIsPositive()
{
    const std::int64_t rss = process_rss_bytes();
    QVERIFY(rss > 0);
    // Touching 32 MB must show up in the resident set. The stores go through a volatile pointer: the block is
    // never read, and clang removes stores to memory that is freed unread.
    constexpr std::size_t kBlock = 32u << 20;
    const auto block = std::make_unique_for_overwrite<char[]>(kBlock);
    volatile char* touch = block.get();
    for (std::size_t i = 0; i < kBlock; i += 4096)
        touch[i] = char(i | 1);
    const std::int64_t after = process_rss_bytes();
    QVERIFY2(after >= rss + (24 << 20), qPrintable(QStringLiteral("%1 -> %2").arg(rss).arg(after)));
}

void TestMetrics::processMemoryAndStart()
{
    const ProcessMemory m = process_memory();
    QVERIFY(m.resident > 0);
    QVERIFY(m.virtual_size >= m.resident);
    // This test process started moments ago, and not in the future.
    const double now = double(fleetscope::util::now_ms()) / 1e3;
    const double started = process_start_time_seconds();
    QVERIFY2(started <= now + 1 && started > now - 300,
             qPrintable(QStringLiteral("started %1, now %2").arg(started, 0, 'f', 2).arg(now, 0, 'f', 2)));
    QVERIFY(process_cpu_seconds() > 0);
}

void TestMetrics::listenQueue_data()
{
    QTest::addColumn<int>("backlog");
    QTest::addColumn<int>("connections");
    QTest::addRow("backlog 8, none waiting") << 8 << 0;
    QTest::addRow("backlog 8, 3 waiting") << 8 << 3;
    QTest::addRow("backlog 64, 20 waiting") << 64 << 20;
    QTest::addRow("backlog 4096, 50 waiting") << 4096 << 50;
    QTest::addRow("backlog 1000000 is clamped") << 1'000'000 << 5;
}

void TestMetrics::listenQueue()
{
    QFETCH(int, backlog);
    QFETCH(int, connections);

    Fd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    QVERIFY(listener.fd >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    QCOMPARE(::bind(listener.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    QCOMPARE(::listen(listener.fd, backlog), 0);
    socklen_t len = sizeof addr;
    QCOMPARE(::getsockname(listener.fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);

    std::vector<Fd> clients;
    for (int i = 0; i < connections; ++i) {
        clients.emplace_back(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
        QVERIFY(clients.back().fd >= 0);
        // The kernel completes the handshake for us: connect returns while the connection sits unaccepted.
        QCOMPARE(::connect(clients.back().fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    }

    ListenQueue q = sample_listen_queue(listener.fd);
    const auto deadline = Clock::now() + std::chrono::seconds(2);
    while (q.queue < connections && Clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        q = sample_listen_queue(listener.fd);
    }
    QCOMPARE(q.queue, std::int64_t{connections});
    QCOMPARE(q.limit, std::int64_t{std::min(backlog, somaxconn())});

    if (connections > 0) {
        Fd accepted(::accept4(listener.fd, nullptr, nullptr, SOCK_CLOEXEC));
        QVERIFY(accepted.fd >= 0);
        QCOMPARE(sample_listen_queue(listener.fd).queue, std::int64_t{connections - 1});
    }
}

void TestMetrics::listenQueueOnNonListeningSocket()
{
    Fd unbound(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    const ListenQueue q = sample_listen_queue(unbound.fd);
    QCOMPARE(q.queue, std::int64_t{-1});
    QCOMPARE(q.limit, std::int64_t{-1});
    QCOMPARE(sample_listen_queue(-1).queue, std::int64_t{-1});
}

void TestMetrics::listenCountersReadable()
{
    const ListenCounters c = read_listen_counters();
    QVERIFY(c.overflows >= 0);
    QVERIFY(c.drops >= 0);
    QVERIFY(c.drops >= c.overflows); // the kernel counts every overflow as a drop too
}

#else

void TestMetrics::raiseFdLimit()
{
    QSKIP("Linux probes");
}
void TestMetrics::openFdCountFollowsOpens()
{
    QCOMPARE(open_fd_count(), std::int64_t{-1});
}
void TestMetrics::rssIsPositive()
{
    QCOMPARE(process_rss_bytes(), std::int64_t{-1});
}
void TestMetrics::processMemoryAndStart()
{
    QCOMPARE(process_memory().resident, std::int64_t{-1});
}
void TestMetrics::listenQueue_data() {}
void TestMetrics::listenQueue()
{
    QSKIP("TCP_INFO on a listening socket is Linux-only");
}
void TestMetrics::listenQueueOnNonListeningSocket()
{
    QCOMPARE(sample_listen_queue(0).queue, std::int64_t{-1});
}
void TestMetrics::listenCountersReadable()
{
    QCOMPARE(read_listen_counters().overflows, std::int64_t{-1});
}

#endif

void TestMetrics::parseListenCounters_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<qlonglong>("overflows");
    QTest::addColumn<qlonglong>("drops");

    QTest::addRow("kernel layout")
        << QStringLiteral("TcpExt: SyncookiesSent SyncookiesRecv ListenOverflows ListenDrops TCPHPHits\n"
                          "TcpExt: 0 0 17 23 9000\n"
                          "IpExt: InNoRoutes InTruncatedPkts\n"
                          "IpExt: 0 0\n")
        << 17LL << 23LL;
    QTest::addRow("other sections first")
        << QStringLiteral(
               "IpExt: ListenOverflows\nIpExt: 5\nTcpExt: ListenDrops ListenOverflows\nTcpExt: 8 4\n")
        << 4LL << 8LL;
    QTest::addRow("CRLF and tabs") << QStringLiteral(
                                          "TcpExt:\tListenOverflows\tListenDrops\r\nTcpExt:\t1\t2\r\n")
                                   << 1LL << 2LL;
    QTest::addRow("large values") << QStringLiteral("TcpExt: ListenOverflows ListenDrops\nTcpExt: 4294967296 "
                                                    "9223372036854775807\n")
                                  << 4294967296LL << 9223372036854775807LL;
    QTest::addRow("drops missing") << QStringLiteral("TcpExt: ListenOverflows\nTcpExt: 3\n") << 3LL << -1LL;
    QTest::addRow("malformed value") << QStringLiteral("TcpExt: ListenOverflows ListenDrops\nTcpExt: 3x -2\n")
                                     << -1LL << -1LL;
    QTest::addRow("values line missing")
        << QStringLiteral("TcpExt: ListenOverflows ListenDrops\n") << -1LL << -1LL;
    QTest::addRow("fewer values than names")
        << QStringLiteral("TcpExt: A ListenOverflows ListenDrops\nTcpExt: 1 2\n") << 2LL << -1LL;
    QTest::addRow("empty") << QString() << -1LL << -1LL;
}

void TestMetrics::parseListenCounters()
{
    QFETCH(QString, text);
    QFETCH(qlonglong, overflows);
    QFETCH(qlonglong, drops);
    const QByteArray utf8 = text.toUtf8();
    const ListenCounters c =
        parse_listen_counters(std::string_view(utf8.constData(), std::size_t(utf8.size())));
    QCOMPARE(c.overflows, std::int64_t{overflows});
    QCOMPARE(c.drops, std::int64_t{drops});
}

namespace {

Snapshot sample_snapshot()
{
    Snapshot s;
    s.at_ms = 1'732'630'000'123;
    s.uptime_ms = 12'345;
    s.connections_open = 15'000;
    s.accepted_total = 15'321;
    s.accept_backoffs = 2;
    s.connection_ceiling = 19'900;
    s.fd_limit = 20'000;
    s.open_fds = 15'012;
    s.listen_queue = 3;
    s.listen_queue_limit = 4096;
    s.listen_overflows = 0;
    s.listen_drops = 7;
    s.responses_by_class = {0, 1, 250'000, 0, 12, 5};
    s.samples_committed = 1'000'000;
    s.ack_p50_ms = 1.5;
    s.ack_p99_ms = 12.25;
    s.workers.resize(2);
    s.workers[0] = {4, 7'500, 123'456'789, 2'500'000'000, 7'500, 7'000};
    s.workers[1] = {0, 7'499, 987, 500'000, 7'500, 7'100};
    s.store_queue = 42;
    s.store_batches = 8'000;
    s.store_last_batch = 128;
    s.commit_p50_ms = 0.75;
    s.commit_p99_ms = 4;
    s.rss_bytes = 52'428'800;
    s.virtual_memory_bytes = 1'073'741'824;
    s.cpu_seconds = 3.25;
    s.start_time_seconds = 1'732'629'987.5;
    s.samples_rejected = {3, 1000, 0, 0, 0, 0};
    s.devices_connected = 14'999;
    s.database_bytes = 123'456'789;
    // Ack latencies: two values of 1 µs (below the first bound), one of 1.5 ms, one past the last bound.
    HistogramCounts ack;
    ack.buckets[Histogram::bucket_index(1000)] = 2;
    ack.buckets[Histogram::bucket_index(1'500'000)] = 1;
    ack.buckets[Histogram::kBuckets - 1] = 1;
    ack.count = 4;
    ack.sum_ns = 2'000 + 1'500'000 + 200'000'000'000;
    s.ack_latency = LatencyBuckets::from(ack);
    return s;
}

QStringList lines_of(const std::string& text)
{
    return QString::fromStdString(text).split(QLatin1Char('\n'), Qt::SkipEmptyParts);
}

} // namespace

void TestMetrics::prometheusLines_data()
{
    QTest::addColumn<QString>("line");
    const char* expected[] = {
        "# HELP fleetscope_uptime_seconds Time since the gateway started.",
        "# TYPE fleetscope_uptime_seconds gauge",
        "fleetscope_uptime_seconds 12.345",
        "fleetscope_connections_open 15000",
        "# TYPE fleetscope_connections_accepted_total counter",
        "fleetscope_connections_accepted_total 15321",
        "fleetscope_accept_backoffs_total 2",
        "fleetscope_connection_ceiling 19900",
        "fleetscope_devices_connected 14999",
        "# TYPE fleetscope_build_info gauge",
        "fleetscope_build_info{version=\"" FLEETSCOPE_VERSION "\"} 1",
        "# TYPE fleetscope_listen_queue gauge",
        "fleetscope_listen_queue 3",
        "fleetscope_listen_queue_limit 4096",
        "# TYPE fleetscope_listen_overflows_total counter",
        "fleetscope_listen_overflows_total 0",
        "fleetscope_listen_drops_total 7",
        "# TYPE fleetscope_responses_total counter",
        "fleetscope_responses_total{class=\"1xx\"} 1",
        "fleetscope_responses_total{class=\"2xx\"} 250000",
        "fleetscope_responses_total{class=\"3xx\"} 0",
        "fleetscope_responses_total{class=\"4xx\"} 12",
        "fleetscope_responses_total{class=\"5xx\"} 5",
        "fleetscope_samples_committed_total 1000000",
        "# TYPE fleetscope_samples_rejected_total counter",
        "fleetscope_samples_rejected_total{reason=\"unauthorized\"} 3",
        "fleetscope_samples_rejected_total{reason=\"overloaded\"} 1000",
        "fleetscope_samples_rejected_total{reason=\"database_full\"} 0",
        "fleetscope_samples_rejected_total{reason=\"database_locked\"} 0",
        "fleetscope_samples_rejected_total{reason=\"store_error\"} 0",
        "fleetscope_samples_rejected_total{reason=\"stopping\"} 0",
        "# TYPE fleetscope_ack_latency_seconds histogram",
        "fleetscope_ack_latency_seconds_bucket{le=\"0.000001024\"} 2",
        "fleetscope_ack_latency_seconds_bucket{le=\"0.001048576\"} 2",
        "fleetscope_ack_latency_seconds_bucket{le=\"0.001572864\"} 3",
        "fleetscope_ack_latency_seconds_bucket{le=\"137.438953472\"} 3",
        "fleetscope_ack_latency_seconds_bucket{le=\"+Inf\"} 4",
        "fleetscope_ack_latency_seconds_sum 200.001502",
        "fleetscope_ack_latency_seconds_count 4",
        "# TYPE fleetscope_commit_latency_seconds histogram",
        "fleetscope_commit_latency_seconds_bucket{le=\"+Inf\"} 0",
        "fleetscope_commit_latency_seconds_count 0",
        "fleetscope_database_bytes 123456789",
        "fleetscope_store_queue_samples 42",
        "fleetscope_store_batches_total 8000",
        "fleetscope_store_last_batch_samples 128",
        "# TYPE process_cpu_seconds_total counter",
        "process_cpu_seconds_total 3.25",
        "process_resident_memory_bytes 52428800",
        "process_virtual_memory_bytes 1073741824",
        "process_open_fds 15012",
        "process_max_fds 20000",
        "process_start_time_seconds 1732629987.5",
        "# TYPE fleetscope_worker_ready_fibers gauge",
        "fleetscope_worker_ready_fibers{worker=\"0\"} 4",
        "fleetscope_worker_ready_fibers{worker=\"1\"} 0",
        "fleetscope_worker_fibers_alive{worker=\"1\"} 7499",
        "# TYPE fleetscope_worker_context_switches_total counter",
        "fleetscope_worker_context_switches_total{worker=\"0\"} 123456789",
        "fleetscope_worker_idle_seconds_total{worker=\"0\"} 2.5",
        "fleetscope_worker_idle_seconds_total{worker=\"1\"} 0.0005",
        "fleetscope_worker_connections{worker=\"1\"} 7500",
        "fleetscope_worker_parked_connections{worker=\"0\"} 7000",
    };
    for (const char* line : expected)
        QTest::addRow("%s", line) << QString::fromUtf8(line);
}

void TestMetrics::prometheusLines()
{
    QFETCH(QString, line);
    const QStringList lines = lines_of(prometheus_text(sample_snapshot()));
    QVERIFY2(lines.count(line) == 1, qPrintable(QStringLiteral("missing or repeated: ") + line));
}

void TestMetrics::prometheusWellFormed()
{
    const std::string text = prometheus_text(sample_snapshot());
    QVERIFY(!text.empty() && text.back() == '\n');
    const QRegularExpression help(QStringLiteral(R"(^# HELP ((?:fleetscope|process)_[a-z_]+) \S.*$)"));
    const QRegularExpression type(
        QStringLiteral(R"(^# TYPE ((?:fleetscope|process)_[a-z_]+) (counter|gauge|histogram)$)"));
    const QRegularExpression sample(QStringLiteral(
        R"(^((?:fleetscope|process)_[a-z_]+)(\{[a-z]+="[^"\\]*"\})? (-?[0-9]+(\.[0-9]+)?(e[-+][0-9]+)?)$)"));
    const QRegularExpression histogram_suffix(QStringLiteral("_(bucket|sum|count)$"));

    QSet<QString> typed;
    QString current; // the family whose samples may follow
    QString current_type;
    for (const QString& line : lines_of(text)) {
        if (const auto m = help.match(line); m.hasMatch()) {
            QVERIFY2(!typed.contains(m.captured(1)), qPrintable(QStringLiteral("family repeated: ") + line));
            current = m.captured(1);
            continue;
        }
        if (const auto m = type.match(line); m.hasMatch()) {
            QCOMPARE(m.captured(1), current); // TYPE follows its HELP
            typed.insert(current);
            current_type = m.captured(2);
            continue;
        }
        const auto m = sample.match(line);
        QVERIFY2(m.hasMatch(), qPrintable(QStringLiteral("not a sample line: ") + line));
        QString name = m.captured(1);
        if (current_type == QLatin1String("histogram"))
            name.remove(histogram_suffix);
        QCOMPARE(name, current); // a family's samples are contiguous, after its TYPE
        QCOMPARE(current_type == QLatin1String("counter"), current.endsWith(QLatin1String("_total")));
    }
    QVERIFY(typed.size() >= 25);
}

void TestMetrics::prometheusOmitsUnavailable()
{
    Snapshot s = sample_snapshot();
    s.listen_queue = s.listen_queue_limit = s.listen_overflows = s.listen_drops = -1;
    s.workers.clear();
    const std::string text = prometheus_text(s);
    QVERIFY(text.find("listen_") == std::string::npos);
    QVERIFY(text.find("worker_") == std::string::npos);
    QVERIFY(text.find("fleetscope_responses_total{class=\"2xx\"} 250000\n") != std::string::npos);

    // Process figures a platform cannot give: -1, or 0 where 0 cannot be true.
    s.cpu_seconds = s.start_time_seconds = -1;
    s.virtual_memory_bytes = s.database_bytes = -1;
    s.rss_bytes = s.open_fds = s.fd_limit = 0;
    const std::string bare = prometheus_text(s);
    QVERIFY(bare.find("process_") == std::string::npos);
    QVERIFY(bare.find("database_bytes") == std::string::npos);
    QVERIFY(bare.find("fleetscope_ack_latency_seconds_count 4\n") != std::string::npos);
}

void TestMetrics::prometheusHistogram()
{
    // One family: HELP, TYPE, 55 finite buckets in ascending le, +Inf, _sum, _count, in that order.
    const QStringList lines = lines_of(prometheus_text(sample_snapshot()));
    const auto type = lines.indexOf(QStringLiteral("# TYPE fleetscope_ack_latency_seconds histogram"));
    QVERIFY(type > 0);
    QVERIFY(lines[type - 1].startsWith(QLatin1String("# HELP fleetscope_ack_latency_seconds ")));
    const QRegularExpression bucket(QStringLiteral("^fleetscope_ack_latency_seconds_bucket"
                                                   "\\{le=\"([0-9.]+|\\+Inf)\"\\} ([0-9]+)$"));
    double previous_le = 0;
    qulonglong previous_count = 0;
    for (qsizetype i = 0; i <= qsizetype(kLatencyBounds); ++i) {
        const auto m = bucket.match(lines[type + 1 + i]);
        QVERIFY2(m.hasMatch(), qPrintable(lines[type + 1 + i]));
        const qulonglong count = m.captured(2).toULongLong();
        QVERIFY(count >= previous_count);
        previous_count = count;
        if (i == qsizetype(kLatencyBounds)) {
            QCOMPARE(m.captured(1), QStringLiteral("+Inf"));
            break;
        }
        // The label is the bound written exactly in seconds.
        const double le = m.captured(1).toDouble();
        QCOMPARE(qRound64(le * 1e9), qint64(kLatencyBoundsNs[std::size_t(i)]));
        QVERIFY(le > previous_le);
        previous_le = le;
    }
    QCOMPARE(lines[type + 2 + qsizetype(kLatencyBounds)],
             QStringLiteral("fleetscope_ack_latency_seconds_sum 200.001502"));
    QCOMPARE(lines[type + 3 + qsizetype(kLatencyBounds)],
             QStringLiteral("fleetscope_ack_latency_seconds_count 4"));
}

QTEST_GUILESS_MAIN(TestMetrics)
#include "test_metrics.moc"
