// SPDX-License-Identifier: GPL-3.0-or-later
// The PostgreSQL store against a real PostgreSQL 15 started by the test (tests/support/postgres_server.hpp):
// clear errors at start, group commit and reads, COPY in both formats, a migration race, two gateways
// registering the same devices at once, time partitions and the default partition, retention, an outage
// answered with failures and recovered from without a restart, and the connection list across gateways.
#include "core/store/pg/connection.hpp"
#include "core/store/pg/partitions.hpp"
#include "core/store/pg/pg_reader.hpp"
#include "core/store/pg/pg_store.hpp"
#include "core/store/pg/schema.hpp"
#include "core/util/clock.hpp"
#include "support/postgres_server.hpp"

#include <QTest>

#include <atomic>
#include <chrono>
#include <cmath>
#include <future>
#include <memory>
#include <thread>

using namespace fleetscope;
using namespace std::chrono_literals;
using store::CommitStatus;
using store::pg::PgStore;
using testing::PostgresServer;

namespace {

using util::now_ms;

telemetry::Sample sample(std::string device, std::int64_t ts, std::vector<telemetry::Metric> metrics)
{
    return telemetry::Sample{std::move(device), ts, std::move(metrics)};
}

/// Submits one request and waits for its outcome (overloaded when the queue refused it).
CommitStatus commit(PgStore& s, std::vector<telemetry::Sample> samples)
{
    auto done = std::make_shared<std::promise<CommitStatus>>();
    auto result = done->get_future();
    if (!s.submit(std::move(samples), [done](CommitStatus st) { done->set_value(st); }))
        return CommitStatus::overloaded;
    if (result.wait_for(30s) != std::future_status::ready)
        return CommitStatus::stopped;
    return result.get();
}

store::pg::Options options(const std::string& uri, const std::string& gateway = "gw-a")
{
    store::pg::Options o;
    o.conninfo = uri;
    o.gateway = gateway;
    o.app_version = "test";
    o.settings_json = "{}";
    o.connect_timeout = 3s;
    return o;
}

std::string rows_text(const std::vector<store::SampleRow>& rows)
{
    std::string s;
    for (const auto& r : rows)
        s += std::to_string(r.ts) + ":" + r.metric + "=" + std::to_string(r.value) + " ";
    return s;
}

} // namespace

class TestPgStore : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void startRefusesWhatCannotWork_data();
    void startRefusesWhatCannotWork();
    void roundTripInTimeThenMetricOrder_data();
    void roundTripInTimeThenMetricOrder();
    void valuesSurviveBothCopyFormats_data();
    void valuesSurviveBothCopyFormats();
    void migrationRaceMigratesOnce();
    void newerSchemaIsRefused();
    void twoGatewaysRegisterTheSameDevices();
    void dayPartitionsAndTheDefaultPartition();
    void retentionDropsWholeOldPartitions();
    void sessionsMarksTimelineAlerts();
    void connectionsShowWhichGatewayHoldsThem();
    void gatewayNameInUseIsRefused();
    void overloadRefusesAndLosesNothing();
    void outageFailsThenCommitsResume();

private:
    std::string fresh_schema();

    std::unique_ptr<PostgresServer> server_;
    int schemas_ = 0;
};

void TestPgStore::initTestCase()
{
    if (const auto why = PostgresServer::unavailable(); !why.empty())
        QSKIP(why.c_str());
    server_ = std::make_unique<PostgresServer>();
    try {
        server_->start();
    } catch (const std::exception& e) {
        QFAIL(e.what());
    }
}

std::string TestPgStore::fresh_schema()
{
    return server_->create_schema("t" + std::to_string(++schemas_));
}

void TestPgStore::startRefusesWhatCannotWork_data()
{
    QTest::addColumn<QString>("conninfo");
    QTest::addColumn<QString>("expected"); // in the message, besides where it tried
    const unsigned short closed = testing::free_port();
    QTest::addRow("malformed URI") << "postgresql://[::1/db"
                                   << "not a valid PostgreSQL URI or conninfo";
    QTest::addRow("port not a number") << "postgresql://127.0.0.1:notaport/db"
                                       << "invalid integer value \"notaport\" for connection option \"port\"";
    QTest::addRow("unknown parameter") << "postgresql://127.0.0.1/db?colour=blue"
                                       << "not a valid PostgreSQL URI or conninfo";
    QTest::addRow("nothing listening")
        << QString("postgresql://fleetscope@127.0.0.1:%1/postgres").arg(closed) << "Connection refused";
    QTest::addRow("unknown role") << QString("postgresql://nobody@127.0.0.1:%1/postgres").arg(server_->port())
                                  << "role \"nobody\" does not exist";
    QTest::addRow("wrong password")
        << QString("postgresql://guarded:wrong@127.0.0.1:%1/postgres").arg(server_->port())
        << "password authentication failed for user \"guarded\"";
    QTest::addRow("missing database")
        << QString("postgresql://fleetscope@127.0.0.1:%1/nosuchdb").arg(server_->port())
        << "database \"nosuchdb\" does not exist";
}

void TestPgStore::startRefusesWhatCannotWork()
{
    QFETCH(QString, conninfo);
    QFETCH(QString, expected);
    static bool guarded = false;
    if (!guarded) {
        server_->add_password_role("guarded", "right");
        guarded = true;
        // The server reloads pg_hba.conf on a signal: wait until a wrong password is refused.
        const std::string probe =
            "postgresql://guarded:wrong@127.0.0.1:" + std::to_string(server_->port()) + "/postgres";
        for (int i = 0; i < 100 && PQping(probe.c_str()) == PQPING_OK; ++i) {
            PGconn* c = PQconnectdb(probe.c_str());
            const bool refused = PQstatus(c) != CONNECTION_OK;
            PQfinish(c);
            if (refused)
                break;
            std::this_thread::sleep_for(30ms);
        }
    }
    try {
        PgStore s(options(conninfo.toStdString()));
        QFAIL("the store opened");
    } catch (const store::StoreError& e) {
        const QString msg = QString::fromUtf8(e.what());
        QVERIFY2(msg.contains(expected), qPrintable(msg));
        QVERIFY2(!msg.contains("wrong") || !conninfo.contains("wrong"),
                 qPrintable("the password leaked: " + msg));
        QVERIFY2(!msg.contains('\n'), qPrintable(msg));
    }
}

void TestPgStore::roundTripInTimeThenMetricOrder_data()
{
    QTest::addColumn<bool>("binary");
    QTest::addRow("binary COPY") << true;
    QTest::addRow("text COPY") << false;
}

void TestPgStore::roundTripInTimeThenMetricOrder()
{
    QFETCH(bool, binary);
    const std::string uri = fresh_schema();
    auto o = options(uri);
    o.copy_format = binary ? store::pg::CopyFormat::binary : store::pg::CopyFormat::text;
    PgStore s(o);
    const std::int64_t t = now_ms();
    // Out of order, in two requests; d1 reports b and a at each time.
    std::vector<telemetry::Sample> r0, r1;
    for (std::int64_t i = 9; i >= 5; --i)
        r0.push_back(sample("d1", t + i, {{"b", double(-i)}, {"a", double(i)}}));
    for (std::int64_t i = 0; i < 5; ++i)
        r1.push_back(sample("d1", t + i, {{"a", double(i)}, {"b", double(-i)}}));
    r1.push_back(sample("d2", t, {{"a", 1000}}));
    QCOMPARE(commit(s, std::move(r0)), CommitStatus::committed);
    QCOMPARE(commit(s, std::move(r1)), CommitStatus::committed);

    const auto& reader = s.reader();
    const auto rows = reader.samples(store::SampleQuery{"d1", "", std::nullopt, std::nullopt, 100});
    QCOMPARE(rows.size(), std::size_t(20));
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const std::int64_t k = std::int64_t(i / 2);
        QCOMPARE(rows[i].ts, t + k);
        QCOMPARE(rows[i].metric, std::string(i % 2 == 0 ? "a" : "b"));
        QCOMPARE(rows[i].value, double(i % 2 == 0 ? k : -k));
    }
    const auto only_b = reader.samples(store::SampleQuery{"d1", "b", t + 2, t + 4, 100});
    QCOMPARE(rows_text(only_b), rows_text({{t + 2, "b", -2}, {t + 3, "b", -3}, {t + 4, "b", -4}}));
    const auto limited = reader.samples(store::SampleQuery{"d1", "", std::nullopt, std::nullopt, 3});
    QCOMPARE(rows_text(limited), rows_text({{t, "a", 0}, {t, "b", 0}, {t + 1, "a", 1}}));
    QVERIFY(reader.samples(store::SampleQuery{"nobody", "", std::nullopt, std::nullopt, 10}).empty());
    QVERIFY(reader.samples(store::SampleQuery{"d1", "nometric", std::nullopt, std::nullopt, 10}).empty());
    // The database's size, as /metrics shows it (fleetscope_database_bytes), read by the writer.
    QTRY_VERIFY_WITH_TIMEOUT(s.disk_bytes() > 1'000'000, 15'000);

    const auto devices = reader.devices();
    QCOMPARE(devices.size(), std::size_t(2));
    QCOMPARE(devices[0].device, std::string("d1"));
    QCOMPARE(devices[0].samples, std::int64_t(10));
    QCOMPARE(devices[0].first_seen, t);
    QCOMPARE(devices[0].last_seen, t + 9);
    QCOMPARE(devices[1].device, std::string("d2"));
    const auto st = s.stats();
    QCOMPARE(st.committed_requests, std::uint64_t(2));
    QCOMPARE(st.committed_samples, std::uint64_t(11));
}

void TestPgStore::valuesSurviveBothCopyFormats_data()
{
    QTest::addColumn<bool>("binary");
    QTest::addRow("binary COPY") << true;
    QTest::addRow("text COPY") << false;
}

void TestPgStore::valuesSurviveBothCopyFormats()
{
    QFETCH(bool, binary);
    const std::string uri = fresh_schema();
    auto o = options(uri);
    o.copy_format = binary ? store::pg::CopyFormat::binary : store::pg::CopyFormat::text;
    PgStore s(o);
    const std::vector<double> values{
        0.1, -0.0, 1e-300, 5e-324, 1.7976931348623157e308, -2.5e-7, 123456789.123456789, 3.0, -1e300};
    const std::int64_t t = now_ms();
    std::vector<telemetry::Sample> r;
    for (std::size_t i = 0; i < values.size(); ++i)
        r.push_back(sample("v", t + std::int64_t(i), {{"x", values[i]}}));
    QCOMPARE(commit(s, std::move(r)), CommitStatus::committed);
    const auto rows = s.reader().samples(store::SampleQuery{"v", "x", std::nullopt, std::nullopt, 100});
    QCOMPARE(rows.size(), values.size());
    for (std::size_t i = 0; i < values.size(); ++i) {
        QCOMPARE(rows[i].ts, t + std::int64_t(i));
        // Bit for bit: the text form is the shortest that reads back to the same double.
        QVERIFY2(std::memcmp(&rows[i].value, &values[i], sizeof(double)) == 0 ||
                     (values[i] == 0 && rows[i].value == 0 &&
                      std::signbit(values[i]) == std::signbit(rows[i].value)),
                 qPrintable(QString::number(rows[i].value, 'g', 17) +
                            " != " + QString::number(values[i], 'g', 17)));
    }
}

void TestPgStore::migrationRaceMigratesOnce()
{
    // Eight gateways start at once on a database FleetScope never used. Without the advisory lock, two of
    // them create the same tables and one fails (a duplicate key in pg_type, or "relation already exists").
    const std::string uri = fresh_schema();
    constexpr int kGateways = 8;
    std::vector<std::string> errors(kGateways);
    std::atomic<int> ready{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < kGateways; ++i) {
        threads.emplace_back([&, i] {
            ready.fetch_add(1);
            while (ready.load() < kGateways)
                std::this_thread::yield();
            try {
                PgStore s(options(uri, "race-" + std::to_string(i)));
                // As a device retries a 503: on a loaded machine a first batch may wait past the statement
                // timeout behind the other stores making today's partitions (each locks samples_other).
                CommitStatus st = CommitStatus::failed;
                for (int attempt = 0; attempt < 3 && st != CommitStatus::committed; ++attempt)
                    st = commit(s, {sample("race-" + std::to_string(i), now_ms(), {{"m", 1}})});
                if (st != CommitStatus::committed)
                    errors[std::size_t(i)] = "commit failed three times";
            } catch (const std::exception& e) {
                errors[std::size_t(i)] = e.what();
            }
        });
    }
    for (auto& t : threads)
        t.join();
    for (const auto& e : errors)
        QVERIFY2(e.empty(), e.c_str());
    const std::string& db = uri;
    QCOMPARE(server_->query_value("SELECT count(*) FROM fleetscope_schema", db), std::string("1"));
    QCOMPARE(server_->query_value("SELECT max(version) FROM fleetscope_schema", db),
             std::to_string(store::pg::kSchemaVersion));
    QCOMPARE(server_->query_value("SELECT count(*) FROM sessions", db), std::to_string(kGateways));
}

void TestPgStore::newerSchemaIsRefused()
{
    const std::string uri = fresh_schema();
    {
        PgStore s(options(uri));
    }
    const std::string& db = uri;
    server_->execute("INSERT INTO fleetscope_schema VALUES (99, 0, 'future')", db);
    try {
        PgStore s(options(uri));
        QFAIL("a database of a newer schema opened");
    } catch (const store::StoreError& e) {
        QVERIFY2(QString(e.what()).contains("schema version 99, newer than this FleetScope"), e.what());
    }
}

void TestPgStore::twoGatewaysRegisterTheSameDevices()
{
    // Two gateways see the same 300 new devices at the same moment, each posting every device twice, in
    // opposite orders. Every sample commits, and each device has one row with both gateways' counts.
    const std::string uri = fresh_schema();
    PgStore a(options(uri, "gw-a"));
    PgStore b(options(uri, "gw-b"));
    constexpr int kDevices = 300;
    const std::int64_t t = now_ms();
    auto post_all = [&](PgStore& s, bool reverse, std::vector<CommitStatus>& out) {
        for (int round = 0; round < 2; ++round) {
            for (int k = 0; k < kDevices; k += 20) {
                std::vector<telemetry::Sample> r;
                for (int j = k; j < k + 20; ++j) {
                    const int d = reverse ? kDevices - 1 - j : j;
                    r.push_back(
                        sample("dev-" + std::to_string(d), t + round, {{"m" + std::to_string(d % 7), 1}}));
                }
                out.push_back(commit(s, std::move(r)));
            }
        }
    };
    std::vector<CommitStatus> ra, rb;
    std::thread ta([&] { post_all(a, false, ra); });
    std::thread tb([&] { post_all(b, true, rb); });
    ta.join();
    tb.join();
    for (auto st : ra)
        QCOMPARE(st, CommitStatus::committed);
    for (auto st : rb)
        QCOMPARE(st, CommitStatus::committed);
    const std::string& db = uri;
    QCOMPARE(server_->query_value("SELECT count(*) FROM devices", db), std::to_string(kDevices));
    QCOMPARE(server_->query_value("SELECT count(*) FROM metrics", db), std::string("7"));
    QCOMPARE(server_->query_value("SELECT count(*) FROM devices WHERE samples <> 4", db), std::string("0"));
    QCOMPARE(server_->query_value("SELECT count(*) FROM samples", db), std::to_string(kDevices * 4));
    const auto devices = a.reader().devices();
    QCOMPARE(devices.size(), std::size_t(kDevices));
}

void TestPgStore::dayPartitionsAndTheDefaultPartition()
{
    const std::string uri = fresh_schema();
    const std::string& db = uri;
    PgStore s(options(uri));
    const std::int64_t now = now_ms();
    const std::int64_t today = store::pg::day_of(now);
    // Today, two days ago (made on demand), and far outside the window both ways (the default partition).
    const std::int64_t times[] = {now, now - 2 * store::pg::kDayMs, now - 400 * store::pg::kDayMs,
                                  now + 30 * store::pg::kDayMs, 0};
    for (const auto ts : times)
        QCOMPARE(commit(s, {sample("p", ts, {{"m", double(ts % 1000)}})}), CommitStatus::committed);
    for (const std::int64_t day : {today, today - 2, today + store::pg::Partitions::kAheadDays}) {
        const std::string name = store::pg::partition_name(day);
        QCOMPARE(server_->query_value("SELECT to_regclass('" + name + "') IS NOT NULL", db),
                 std::string("t"));
    }
    QCOMPARE(server_->query_value("SELECT count(*) FROM samples_other", db), std::string("3"));
    QCOMPARE(server_->query_value("SELECT count(*) FROM ONLY " + store::pg::partition_name(today - 2), db),
             std::string("1"));
    QCOMPARE(s.reader().samples(store::SampleQuery{"p", "m", std::nullopt, std::nullopt, 100}).size(),
             std::size_t(5));

    // The day 30 days ahead gets its partition once it enters the window: its reading moves out of the
    // default partition in the same transaction, so it is found exactly once throughout.
    s.reader().with_connection([&](store::pg::Connection& c) {
        store::pg::Partitions p;
        p.load(c);
        QVERIFY(p.ensure(c, today + 30, today + 30));
    });
    QCOMPARE(server_->query_value("SELECT count(*) FROM samples_other", db), std::string("2"));
    QCOMPARE(server_->query_value("SELECT count(*) FROM ONLY " + store::pg::partition_name(today + 30), db),
             std::string("1"));
    QCOMPARE(s.reader().samples(store::SampleQuery{"p", "m", std::nullopt, std::nullopt, 100}).size(),
             std::size_t(5));
}

void TestPgStore::retentionDropsWholeOldPartitions()
{
    const std::string uri = fresh_schema();
    const std::string& db = uri;
    const std::int64_t now = now_ms();
    const std::int64_t today = store::pg::day_of(now);
    {
        PgStore s(options(uri));
        for (const std::int64_t age : {0, 1, 3, 10, 500})
            QCOMPARE(commit(s, {sample("r", now - age * store::pg::kDayMs, {{"m", double(age)}})}),
                     CommitStatus::committed);
        QVERIFY(s.add_timeline({{"connections", now - 10 * store::pg::kDayMs, 1}, {"connections", now, 2}}));
    }
    QCOMPARE(server_->query_value(
                 "SELECT to_regclass('" + store::pg::partition_name(today - 10) + "') IS NOT NULL", db),
             std::string("t"));
    auto o = options(uri);
    o.retention_days = 2;
    PgStore s(o);
    QVERIFY(s.run_retention_now());
    // Whole days older than two days go: the partitions of 3 and 10 days ago, and the 500-day-old reading in
    // the default partition. Today's, yesterday's and their partitions stay.
    QCOMPARE(server_->query_value(
                 "SELECT to_regclass('" + store::pg::partition_name(today - 10) + "') IS NULL", db),
             std::string("t"));
    QCOMPARE(server_->query_value(
                 "SELECT to_regclass('" + store::pg::partition_name(today - 3) + "') IS NULL", db),
             std::string("t"));
    QCOMPARE(server_->query_value(
                 "SELECT to_regclass('" + store::pg::partition_name(today - 1) + "') IS NOT NULL", db),
             std::string("t"));
    const auto rows = s.reader().samples(store::SampleQuery{"r", "m", std::nullopt, std::nullopt, 100});
    QCOMPARE(rows_text(rows), rows_text({{now - store::pg::kDayMs, "m", 1}, {now, "m", 0}}));
    QCOMPARE(server_->query_value("SELECT count(*) FROM timeline", db), std::string("1"));
}

void TestPgStore::sessionsMarksTimelineAlerts()
{
    const std::string uri = fresh_schema();
    std::int64_t first = 0;
    {
        PgStore s(options(uri, "gw-a"));
        first = s.session_id();
        QVERIFY(first > 0);
        QCOMPARE(s.add_mark("", 1, 2).error(), std::string("mark label: expected 1 to 200 bytes, got 0"));
        QVERIFY(s.add_mark("warm-up", 100, 200).ok());
        QVERIFY(s.add_timeline(
            {{"connections", 1000, 5}, {"samples_rate", 1000, 2.5}, {"connections", 2000, 6}}));
        QVERIFY(s.add_timeline({{"connections", 2000, 7}})); // replaces the point
        store::AlertChange raised{store::AlertChange::Kind::raised, {}};
        raised.alert = store::AlertRow{(first << 32) | 1, 0, "hot", "d1", "warning", 1500, {}, {}, "too hot"};
        store::AlertChange cleared{store::AlertChange::Kind::cleared, {}};
        cleared.alert.id = (first << 32) | 1;
        cleared.alert.cleared_at = 1700;
        QVERIFY(s.add_alert_changes({raised, cleared}));
    }
    PgStore s(options(uri, "gw-a"));
    const auto sessions = s.reader().sessions();
    QCOMPARE(sessions.size(), std::size_t(2));
    QCOMPARE(sessions[0].id, first);
    QCOMPARE(sessions[0].end_reason, std::string("stop"));
    QVERIFY(sessions[0].ended_at.has_value());
    QVERIFY(!sessions[1].ended_at.has_value());
    QCOMPARE(s.reader().session_gateways()[0].second, std::string("gw-a"));
    const auto marks = s.reader().marks();
    QCOMPARE(marks.size(), std::size_t(1));
    QCOMPARE(marks[0].label, std::string("warm-up"));
    QCOMPARE(marks[0].session_id, first);
    const auto points = s.reader().timeline(store::TimelineQuery{0, 5000, {}, {}});
    QCOMPARE(points.size(), std::size_t(3));
    QCOMPARE(points[1].value, 7.0); // (session, series, ts) order: connections at 2000, replaced
    QCOMPARE(s.reader().timeline_series(), (std::vector<std::string>{"connections", "samples_rate"}));
    const std::string& db = uri;
    QCOMPARE(server_->query_value("SELECT cleared_at FROM alerts", db), std::string("1700"));
    const auto alerts = s.reader().alerts(store::AlertQuery{{first}, 1600, 1650});
    QCOMPARE(alerts.size(), std::size_t(1));
    QCOMPARE(alerts[0].session_id, first);
    QCOMPARE(alerts[0].message, std::string("too hot"));
    QCOMPARE(alerts[0].cleared_at, std::optional<std::int64_t>(1700));
    QVERIFY(s.reader().alerts(store::AlertQuery{{}, 1800, 1900}).empty()); // cleared before
}

void TestPgStore::connectionsShowWhichGatewayHoldsThem()
{
    const std::string uri = fresh_schema();
    auto a = std::make_unique<PgStore>(options(uri, "gw-a"));
    PgStore b(options(uri, "gw-b"));
    const std::int64_t t = now_ms();
    QCOMPARE(commit(*a, {sample("d1", t, {{"m", 1}}), sample("d2", t, {{"m", 1}})}), CommitStatus::committed);
    a->note_connection("d1", true);
    b.note_connection("d2", true);
    a->note_connection("d2", true);
    a->note_connection("d2", false); // opened and closed before the writer's round: nothing of it stays
    auto holders = [&] {
        std::map<std::string, std::string> m;
        const auto held = b.reader().holders();
        for (const auto& h : held.value())
            m[h.device] = h.gateway;
        return m;
    };
    const std::map<std::string, std::string> expected{{"d1", "gw-a"}, {"d2", "gw-b"}};
    for (int i = 0; i < 100 && holders() != expected; ++i)
        std::this_thread::sleep_for(20ms);
    QCOMPARE(holders(), expected);
    // A gateway that stops takes its connections with it.
    a->stop();
    QCOMPARE(holders(), (std::map<std::string, std::string>{{"d2", "gw-b"}}));
}

void TestPgStore::gatewayNameInUseIsRefused()
{
    const std::string uri = fresh_schema();
    PgStore a(options(uri, "same"));
    try {
        PgStore b(options(uri, "same"));
        QFAIL("a second gateway took a running gateway's name");
    } catch (const store::StoreError& e) {
        QVERIFY2(QString(e.what()).contains("gateway name 'same' is in use by a running gateway"), e.what());
    }
}

void TestPgStore::overloadRefusesAndLosesNothing()
{
    const std::string uri = fresh_schema();
    auto o = options(uri);
    o.queue_samples = 50;
    PgStore s(o);
    std::vector<std::shared_ptr<std::promise<CommitStatus>>> pending;
    int refused = 0;
    const std::int64_t t = now_ms();
    for (int i = 0; i < 200; ++i) {
        std::vector<telemetry::Sample> r;
        for (int j = 0; j < 10; ++j)
            r.push_back(sample("o", t + i * 10 + j, {{"m", 1}}));
        auto p = std::make_shared<std::promise<CommitStatus>>();
        if (s.submit(std::move(r), [p](CommitStatus st) { p->set_value(st); }))
            pending.push_back(p);
        else
            ++refused;
    }
    QVERIFY(refused > 0);
    for (auto& p : pending)
        QCOMPARE(p->get_future().get(), CommitStatus::committed);
    s.stop();
    QCOMPARE(s.reader().devices().at(0).samples, std::int64_t(pending.size() * 10));
    QCOMPARE(s.stats().rejected_overload, std::uint64_t(refused));
}

void TestPgStore::outageFailsThenCommitsResume()
{
    const std::string uri = fresh_schema();
    PgStore s(options(uri));
    const std::int64_t t = now_ms();
    QCOMPARE(commit(s, {sample("o", t, {{"m", 1}})}), CommitStatus::committed);
    server_->stop();
    // Every batch while the server is down fails, promptly; none is acknowledged.
    for (int i = 1; i <= 5; ++i)
        QCOMPARE(commit(s, {sample("o", t + i, {{"m", 1}})}), CommitStatus::failed);
    QVERIFY(!s.connected());
    QVERIFY_THROWS_EXCEPTION(store::StoreError, s.reader().devices());
    server_->start(); // same folder, same port
    // The first batch after the server is back may still meet the back-off; commits resume within it.
    CommitStatus st = CommitStatus::failed;
    for (int i = 0; i < 50 && st != CommitStatus::committed; ++i) {
        st = commit(s, {sample("o", t + 100 + i, {{"m", 1}})});
        if (st != CommitStatus::committed)
            std::this_thread::sleep_for(50ms);
    }
    QCOMPARE(st, CommitStatus::committed);
    QVERIFY(s.connected());
    // The reader's pooled connections died with the server; the next read reconnects.
    const auto rows = s.reader().samples(store::SampleQuery{"o", "m", std::nullopt, std::nullopt, 100});
    QCOMPARE(rows.size(), std::size_t(2));
    QCOMPARE(rows[0].ts, t);
}

QTEST_GUILESS_MAIN(TestPgStore)
#include "test_pg_store.moc"
