// SPDX-License-Identifier: GPL-3.0-or-later
// The storage boundary's contract (core/store/writer.hpp, reader.hpp), the same cases against each backend
// open_store picks from a location: a SQLite file, and a PostgreSQL 15 the test starts (each case in a
// schema of its own). Only the interfaces are used, as the gateway, the exporter and the monitor use them:
// concurrent submits all committed and read back; reads in their documented orders (devices by name, samples
// by (ts, metric), the latest of a range, timeline by (session, series, ts)); bulk reads that deliver every
// reading once, device by device; a session's records read back after the store is reopened, and through
// open_reader on the same location.
#include "core/capture_cli.hpp"
#include "core/store/capture.hpp"
#include "core/store/store.hpp"
#include "core/util/clock.hpp"
#include "support/postgres_server.hpp"

#include <QFile>
#include <QTemporaryDir>
#include <QTest>

#include <future>
#include <map>
#include <memory>
#include <sstream>
#include <thread>

using namespace fleetscope;
using namespace std::chrono_literals;
using store::CommitStatus;

Q_DECLARE_METATYPE(std::string)

namespace {

telemetry::Sample sample(std::string device, std::int64_t ts, std::vector<telemetry::Metric> metrics)
{
    return telemetry::Sample{std::move(device), ts, std::move(metrics)};
}

CommitStatus commit(store::Writer& w, std::vector<telemetry::Sample> samples)
{
    auto done = std::make_shared<std::promise<CommitStatus>>();
    auto result = done->get_future();
    if (!w.submit(std::move(samples), [done](CommitStatus st) { done->set_value(st); }))
        return CommitStatus::overloaded;
    if (result.wait_for(30s) != std::future_status::ready)
        return CommitStatus::stopped;
    return result.get();
}

/// Collects what read_readings delivers.
struct Collect : store::ReadingVisitor {
    std::uint64_t total = 0;
    std::vector<std::string> devices;
    std::vector<std::tuple<std::string, std::string, std::int64_t, double>> readings;
    int groups = 0;
    void begin(std::uint64_t t) override { total = t; }
    void device(const store::DeviceRow& row) override { devices.push_back(row.device); }
    void reading(const std::string& metric, std::int64_t ts, double value) override
    {
        readings.emplace_back(devices.back(), metric, ts, value);
    }
    void group_end() override { ++groups; }
};

} // namespace

class TestStoreContract : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void concurrentSubmitsCommitAndReadBack_data() { backends(); }
    void concurrentSubmitsCommitAndReadBack();
    void readOrdersAndLimits_data() { backends(); }
    void readOrdersAndLimits();
    void bulkReadsDeliverEachReadingOnce_data() { backends(); }
    void bulkReadsDeliverEachReadingOnce();
    void sessionRecordsOutliveTheWriter_data() { backends(); }
    void sessionRecordsOutliveTheWriter();
    void retentionDeletesOnlyWhatIsOld_data() { backends(); }
    void retentionDeletesOnlyWhatIsOld();
    void retentionRunsOnItsOwn_data() { backends(); }
    void retentionRunsOnItsOwn();

private:
    void backends();
    /// A fresh, empty location of `backend` ("sqlite" or "postgresql").
    std::string fresh(const std::string& backend);
    store::Options options(const std::string& location) const;

    QTemporaryDir dir_;
    std::unique_ptr<testing::PostgresServer> pg_;
    std::string pg_skip_;
    int n_ = 0;
};

void TestStoreContract::initTestCase()
{
    QVERIFY(dir_.isValid());
    pg_skip_ = testing::PostgresServer::unavailable();
    if (!pg_skip_.empty())
        return;
    pg_ = std::make_unique<testing::PostgresServer>();
    try {
        pg_->start();
    } catch (const std::exception& e) {
        QFAIL(e.what());
    }
}

void TestStoreContract::backends()
{
    QTest::addColumn<std::string>("backend");
    QTest::newRow("sqlite") << std::string("sqlite");
    QTest::newRow("postgresql") << std::string("postgresql");
}

std::string TestStoreContract::fresh(const std::string& backend)
{
    ++n_;
    if (backend == "sqlite")
        return "sqlite:" + dir_.filePath(QString("store%1.db").arg(n_)).toStdString();
    return pg_->create_schema("contract" + std::to_string(n_));
}

store::Options TestStoreContract::options(const std::string& location) const
{
    store::Options o;
    o.path = location;
    o.app_version = "test";
    o.settings_json = "{}";
    o.gateway = "gw-test";
    o.connect_timeout = 3s;
    o.compact_readings = 64; // SQLite: compaction runs within these cases
    return o;
}

#define NEED_BACKEND()                                                                                       \
    QFETCH(std::string, backend);                                                                            \
    if (backend == "postgresql" && !pg_skip_.empty())                                                        \
        QSKIP(pg_skip_.c_str());

void TestStoreContract::concurrentSubmitsCommitAndReadBack()
{
    NEED_BACKEND();
    auto s = store::open_store(options(fresh(backend)));
    constexpr int kThreads = 4, kRequests = 50;
    std::vector<std::thread> threads;
    std::atomic<int> committed{0};
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < kRequests; ++i) {
                const std::string device = "dev-" + std::to_string(t);
                if (commit(s->writer(), {sample(device, 1000 + i, {{"a", double(i)}, {"b", double(t)}})}) ==
                    CommitStatus::committed)
                    ++committed;
            }
        });
    }
    for (auto& th : threads)
        th.join();
    QCOMPARE(committed.load(), kThreads * kRequests);
    const auto st = s->writer().stats();
    QCOMPARE(st.committed_requests, std::uint64_t(kThreads * kRequests));

    const auto& r = s->reader();
    const auto devices = r.devices();
    QCOMPARE(devices.size(), std::size_t(kThreads));
    for (int t = 0; t < kThreads; ++t) {
        QCOMPARE(devices[std::size_t(t)].device, "dev-" + std::to_string(t));
        QCOMPARE(devices[std::size_t(t)].samples, std::int64_t(kRequests));
        QCOMPARE(devices[std::size_t(t)].first_seen, std::int64_t(1000));
        QCOMPARE(devices[std::size_t(t)].last_seen, std::int64_t(1000 + kRequests - 1));
    }
    QCOMPARE(r.metric_names(), (std::vector<std::string>{"a", "b"}));
    const auto summary = r.summary();
    QCOMPARE(summary.devices, std::uint64_t(kThreads));
    QCOMPARE(summary.readings, std::uint64_t(kThreads * kRequests * 2));
    QCOMPARE(summary.first_ts, std::optional<std::int64_t>(1000));
    QCOMPARE(summary.last_ts, std::optional<std::int64_t>(1000 + kRequests - 1));
}

void TestStoreContract::readOrdersAndLimits()
{
    NEED_BACKEND();
    auto s = store::open_store(options(fresh(backend)));
    QCOMPARE(commit(s->writer(), {sample("b", 30, {{"y", 3}, {"x", 4}}), sample("b", 10, {{"x", 1}}),
                                  sample("a", 20, {{"x", 2}})}),
             CommitStatus::committed);
    QCOMPARE(commit(s->writer(), {sample("b", 20, {{"x", 2}, {"y", 5}})}), CommitStatus::committed);
    const auto& r = s->reader();
    QCOMPARE(r.devices().front().device, std::string("a"));
    auto text = [](const std::vector<store::SampleRow>& rows) {
        std::string out;
        for (const auto& row : rows)
            out +=
                std::to_string(row.ts) + row.metric + "=" + QByteArray::number(row.value).toStdString() + " ";
        return out;
    };
    QCOMPARE(text(r.samples({"b", "", std::nullopt, std::nullopt, 100})),
             std::string("10x=1 20x=2 20y=5 30x=4 30y=3 "));
    QCOMPARE(text(r.samples({"b", "x", std::nullopt, std::nullopt, 100})), std::string("10x=1 20x=2 30x=4 "));
    QCOMPARE(text(r.samples({"b", "", 20, 30, 2})), std::string("20x=2 20y=5 "));
    store::SampleQuery latest{"b", "", std::nullopt, std::nullopt, 3};
    latest.latest = true;
    QCOMPARE(text(r.samples(latest)), std::string("20y=5 30x=4 30y=3 "));
    QVERIFY(r.samples({"nobody", "", std::nullopt, std::nullopt, 100}).empty());
    QVERIFY(r.samples({"b", "nothing", std::nullopt, std::nullopt, 100}).empty());
}

void TestStoreContract::bulkReadsDeliverEachReadingOnce()
{
    NEED_BACKEND();
    auto s = store::open_store(options(fresh(backend)));
    std::map<std::string, int> expected; // device -> readings of metric m1 in [100, 199]
    for (int d = 0; d < 6; ++d) {
        std::vector<telemetry::Sample> batch;
        for (int i = 0; i < 40 * (d + 1); ++i)
            batch.push_back(sample("d" + std::to_string(d), 50 + i * 5, {{"m1", double(i)}, {"m2", -1}}));
        for (const auto& smp : batch)
            if (smp.ts_ms >= 100 && smp.ts_ms <= 199)
                ++expected[smp.device];
        QCOMPARE(commit(s->writer(), std::move(batch)), CommitStatus::committed);
    }
    store::ReadingsQuery q;
    q.devices = {"d5", "d0", "d3", "absent"};
    q.metrics = {"m1"};
    q.from = 100;
    q.to = 199;
    const auto counts = s->reader().count_readings(q);
    QCOMPARE(counts.size(), std::size_t(4));
    QCOMPARE(counts[3], std::uint64_t(0));

    Collect c;
    s->reader().read_readings(q, c, 25); // groups smaller than one device: one device per group
    QCOMPARE(c.devices, (std::vector<std::string>{"d5", "d0", "d3"}));
    QVERIFY(c.groups >= 3);
    std::map<std::string, int> got;
    std::tuple<std::string, std::string, std::int64_t, double> prev;
    for (const auto& reading : c.readings) {
        const auto& [device, metric, ts, value] = reading;
        QCOMPARE(metric, std::string("m1"));
        QVERIFY(ts >= 100 && ts <= 199);
        QCOMPARE(value, double((ts - 50) / 5));
        if (std::get<0>(prev) == device)
            QVERIFY2(ts > std::get<2>(prev), "readings of a device come in (metric, ts) order");
        prev = reading;
        ++got[device];
    }
    QCOMPARE(got["d5"], expected["d5"]);
    QCOMPARE(got["d0"], expected["d0"]);
    QCOMPARE(got["d3"], expected["d3"]);
    // begin() gets an estimate for progress (SQLite counts whole chunks), not an exact count.
    QVERIFY(c.total > 0);
}

void TestStoreContract::sessionRecordsOutliveTheWriter()
{
    NEED_BACKEND();
    const std::string location = fresh(backend);
    std::int64_t first = 0;
    {
        auto s = store::open_store(options(location));
        auto& w = s->writer();
        first = w.session_id();
        QVERIFY(first > 0);
        QVERIFY(w.add_mark("warm-up", 100, 200).ok());
        QVERIFY(!w.add_mark("", 1, 2).ok());
        QVERIFY(w.add_timeline({{"connections", 1000, 5}, {"rate", 1000, 2.5}, {"connections", 2000, 6}}));
        store::AlertChange raised{store::AlertChange::Kind::raised, {}};
        raised.alert = store::AlertRow{(first << 32) | 1, 0, "hot", "d1", "warning", 1500, {}, {}, "too hot"};
        store::AlertChange acked{store::AlertChange::Kind::acked, {}};
        acked.alert.id = raised.alert.id;
        acked.alert.acked_at = 1600;
        QVERIFY(w.add_alert_changes({raised, acked}));
        QCOMPARE(commit(w, {sample("d1", 1500, {{"t", 90}})}), CommitStatus::committed);
        w.stop();
    }
    // Read through a reader of its own, as the exporter and the monitor's history do.
    const auto r = store::open_reader(location);
    const auto sessions = r->sessions();
    QCOMPARE(sessions.size(), std::size_t(1));
    QCOMPARE(sessions[0].id, first);
    QCOMPARE(sessions[0].end_reason, std::string("stop"));
    const auto marks = r->marks();
    QCOMPARE(marks.size(), std::size_t(1));
    QCOMPARE(marks[0].label, std::string("warm-up"));
    QCOMPARE(marks[0].session_id, first);
    const auto points = r->timeline(store::TimelineQuery{});
    QCOMPARE(points.size(), std::size_t(3));
    QCOMPARE(points[0].series, std::string("connections"));
    QCOMPARE(points[1].value, 6.0);
    QCOMPARE(points[2].series, std::string("rate"));
    QCOMPARE(points[2].session_id, first);
    QCOMPARE(r->timeline_series(), (std::vector<std::string>{"connections", "rate"}));
    const auto alerts = r->alerts(store::AlertQuery{});
    QCOMPARE(alerts.size(), std::size_t(1));
    QCOMPARE(alerts[0].acked_at, std::optional<std::int64_t>(1600));
    QVERIFY(!alerts[0].cleared_at.has_value());
    QCOMPARE(r->devices().size(), std::size_t(1));

    // The exporter (fleetscope-gateway export --store LOCATION) from the same location.
    const std::string csv = dir_.filePath(QString("export%1.csv").arg(n_)).toStdString();
    const auto result = store::export_data(location, store::ExportQuery{}, store::ExportFormat::csv, csv);
    QVERIFY2(result.ok(), result.error.c_str());
    QCOMPARE(result.samples, std::uint64_t(1));
    QFile f(QString::fromStdString(csv));
    QVERIFY(f.open(QIODevice::ReadOnly));
    const QByteArray text = f.readAll();
    QVERIFY2(text.contains("\r\nd1,1500,") && text.contains(",t,90\r\n"), text.constData());

    // fleetscope-gateway sessions --store LOCATION.
    const char* argv[] = {"sessions", "--store", location.c_str()};
    std::ostringstream out;
    std::ostringstream err;
    QCOMPARE(run_sessions_command(3, argv, out, err), 0);
    const std::string listed = out.str();
    QVERIFY2(listed.find("1 devices, 1 readings") != std::string::npos, listed.c_str());
    QVERIFY2(listed.find("stop") != std::string::npos && listed.find("warm-up") != std::string::npos,
             listed.c_str());
}

void TestStoreContract::retentionDeletesOnlyWhatIsOld()
{
    NEED_BACKEND();
    constexpr std::int64_t day = 86'400'000;
    const std::int64_t now = util::now_ms();
    const std::int64_t old_ts = now - 5 * day; // before the cutoff, the start of the UTC day 2 days ago
    const std::int64_t kept_ts = now - 60'000;
    auto o = options(fresh(backend));
    o.retention_days = 2;
    o.retention_slice = 2; // SQLite: a pass of many slices, each its own transaction
    auto s = store::open_store(o);
    auto& w = s->writer();
    // Old and new readings of one device, in one request and in several, and a device with old ones only.
    QCOMPARE(commit(w, {sample("d1", old_ts, {{"t", 1}, {"h", 2}}), sample("d1", kept_ts, {{"t", 3}}),
                        sample("d2", old_ts + 1, {{"t", 4}})}),
             CommitStatus::committed);
    for (int i = 0; i < 100; ++i)
        QCOMPARE(
            commit(w, {sample("d3", old_ts + i, {{"t", double(i)}}), sample("d3", kept_ts + i, {{"t", 5}})}),
            CommitStatus::committed);
    QVERIFY(w.add_timeline({{"connections", old_ts, 5},
                            {"connections", kept_ts, 6},
                            {"rate", old_ts, 1},
                            {"rate", old_ts + 1, 1},
                            {"rss", old_ts + 2, 1}}));
    QVERIFY(s->run_retention_now());

    const auto& r = s->reader();
    auto all = [&r](const std::string& device) {
        return r.samples({device, "", std::nullopt, std::nullopt, 10'000});
    };
    const auto d1 = all("d1");
    QCOMPARE(d1.size(), std::size_t(1));
    QCOMPARE(d1[0].ts, kept_ts);
    QCOMPARE(d1[0].value, 3.0);
    QVERIFY(all("d2").empty());
    const auto d3 = all("d3");
    QCOMPARE(d3.size(), std::size_t(100));
    QCOMPARE(d3.front().ts, kept_ts);
    QCOMPARE(d3.back().ts, kept_ts + 99);
    // Devices stay, with what they sent.
    QCOMPARE(r.devices().size(), std::size_t(3));
    std::vector<store::TimelineRow> points;
    r.timeline(store::TimelineQuery{}, [&points](const store::TimelineRow& p) { points.push_back(p); });
    QCOMPARE(points.size(), std::size_t(1));
    QCOMPARE(points[0].ts, kept_ts);

    // What arrives later is kept, and another pass finds nothing more to delete.
    QCOMPARE(commit(w, {sample("d2", kept_ts, {{"t", 7}})}), CommitStatus::committed);
    QVERIFY(s->run_retention_now());
    QCOMPARE(all("d2").size(), std::size_t(1));
    QCOMPARE(all("d1").size(), std::size_t(1));
}

void TestStoreContract::retentionRunsOnItsOwn()
{
    NEED_BACKEND();
    const std::int64_t now = util::now_ms();
    auto o = options(fresh(backend));
    o.retention_days = 1;
    auto s = store::open_store(o);
    QCOMPARE(
        commit(s->writer(), {sample("d1", now - 3 * 86'400'000, {{"t", 1}}), sample("d1", now, {{"t", 2}})}),
        CommitStatus::committed);
    for (int i = 0; i < 100; ++i) // SQLite: enough readings to be moved without being asked
        QCOMPARE(commit(s->writer(), {sample("d2", now + i, {{"t", 1}})}), CommitStatus::committed);
    // The first pass comes a few seconds after the start, unasked.
    QTRY_COMPARE_WITH_TIMEOUT(s->reader().samples({"d1", "", std::nullopt, std::nullopt, 10}).size(),
                              std::size_t(1), 30'000);
    QCOMPARE(s->reader().samples({"d2", "", std::nullopt, std::nullopt, 1'000}).size(), std::size_t(100));
}

QTEST_GUILESS_MAIN(TestStoreContract)
#include "test_store_contract.moc"
