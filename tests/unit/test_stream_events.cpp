// SPDX-License-Identifier: GPL-3.0-or-later
// The JSON of GET /v1/stream's events, which the gateway writes and the monitor's remote feed reads back:
// every snapshot field survives the round trip, alert events too, and malformed events are refused.
#include "core/http/stream_events.hpp"

#include <QTest>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

using namespace fleetscope;
namespace json = boost::json;

class TestStreamEvents : public QObject {
    Q_OBJECT
private slots:
    void snapshotRoundTrip();
    void malformedSnapshot_data();
    void malformedSnapshot();
    void alertRoundTrip();
    void malformedAlert_data();
    void malformedAlert();
};

namespace {

metrics::Snapshot sample_snapshot()
{
    metrics::Snapshot s;
    s.at_ms = 1732630000123;
    s.uptime_ms = 5000;
    s.connections_open = 3;
    s.accepted_total = 7;
    s.listen_queue = -1;
    s.responses_by_class = {0, 1, 2, 3, 4, 5};
    s.samples_committed = 42;
    s.ack_p50_ms = 0.25;
    s.ack_p99_ms = 1.5;
    s.ack_latency.below[3] = 9;
    s.ack_latency.count = 11;
    s.ack_latency.sum_ns = 123456789012;
    s.samples_rejected = {1, 0, 2, 0, 0, 3};
    s.devices_connected = 2;
    s.workers = {{1, 2, 3, 4, 5, 6}, {7, 8, 9, 10, 11, 12}};
    s.commit_latency.below.back() = 1;
    s.database_bytes = -1;
    s.rss_bytes = 1 << 20;
    s.cpu_seconds = 0.75;
    s.dropped_updates = 17;
    return s;
}

} // namespace

void TestStreamEvents::snapshotRoundTrip()
{
    const metrics::Snapshot s = sample_snapshot();
    const std::string text = http::snapshot_json(s);
    QVERIFY2(text.find("\"samples_committed\":42") != std::string::npos, text.c_str());
    QVERIFY2(text.find('\n') == std::string::npos, "an event's data must be one line");
    metrics::Snapshot back;
    QVERIFY(http::snapshot_from_json(json::parse(text), back));
    QCOMPARE(back.samples_committed, std::uint64_t(42));
    QCOMPARE(back.ack_p99_ms, 1.5);
    QCOMPARE(back.listen_queue, std::int64_t(-1));
    QCOMPARE(back.workers.size(), std::size_t(2));
    QCOMPARE(back.workers[1].parked, std::uint64_t(12));
    QCOMPARE(back.ack_latency.sum_ns, std::uint64_t(123456789012));
    QCOMPARE(back.commit_latency.below.back(), std::uint64_t(1));
    QCOMPARE(back.samples_rejected[5], std::uint64_t(3));
    // Every field: the decoded snapshot writes the same JSON.
    QCOMPARE(http::snapshot_json(back), text);
}

void TestStreamEvents::malformedSnapshot_data()
{
    QTest::addColumn<QString>("field");
    QTest::addColumn<QString>("replacement"); // JSON; empty: the field is removed
    QTest::addRow("missing total") << "samples_committed"
                                   << "";
    QTest::addRow("total as text") << "samples_committed"
                                   << "\"42\"";
    QTest::addRow("negative total") << "accepted_total"
                                    << "-1";
    QTest::addRow("workers not an array") << "workers"
                                          << "{}";
    QTest::addRow("short histogram") << "ack_latency"
                                     << R"({"below":[1,2],"count":3,"sum_ns":4})";
    QTest::addRow("classes of the wrong length") << "responses_by_class"
                                                 << "[1,2,3]";
}

void TestStreamEvents::malformedSnapshot()
{
    QFETCH(QString, field);
    QFETCH(QString, replacement);
    json::value v = json::parse(http::snapshot_json(sample_snapshot()));
    if (replacement.isEmpty())
        v.as_object().erase(field.toStdString());
    else
        v.as_object()[field.toStdString()] = json::parse(replacement.toStdString());
    metrics::Snapshot out;
    QVERIFY(!http::snapshot_from_json(v, out));
}

void TestStreamEvents::alertRoundTrip()
{
    alerts::AlertEvent e;
    e.kind = alerts::AlertEvent::Kind::acked;
    e.alert.id = (std::int64_t{3} << 32) | 5;
    e.alert.rule = "hot";
    e.alert.subject = "pump-8";
    e.alert.severity = alerts::Severity::critical;
    e.alert.raised_at = 1000;
    e.alert.acked_at = 2000;
    e.alert.message = "temp_c = 90, above 50";
    const auto back = http::alert_event_from_json(json::parse(http::alert_event_json(e)));
    QVERIFY(back);
    QCOMPARE(back->kind, alerts::AlertEvent::Kind::acked);
    QCOMPARE(back->alert.id, e.alert.id);
    QCOMPARE(back->alert.severity, alerts::Severity::critical);
    QVERIFY(!back->alert.cleared_at);
    QCOMPARE(*back->alert.acked_at, std::int64_t(2000));
    QCOMPARE(QString::fromStdString(back->alert.message), QString::fromStdString(e.alert.message));
    QVERIFY(back->alert.active);
}

void TestStreamEvents::malformedAlert_data()
{
    QTest::addColumn<QString>("text");
    QTest::addRow("unknown kind") << R"({"kind":"muted","alert":{}})";
    QTest::addRow("no alert") << R"({"kind":"raised"})";
    QTest::addRow("alert without id")
        << R"({"kind":"raised","alert":{"rule":"r","subject":"s","severity":"info","raised_at":1,"cleared_at":null,"acked_at":null,"message":"m","active":true}})";
    QTest::addRow("unknown severity")
        << R"({"kind":"raised","alert":{"id":1,"rule":"r","subject":"s","severity":"dire","raised_at":1,"cleared_at":null,"acked_at":null,"message":"m","active":true}})";
    QTest::addRow("cleared_at as text")
        << R"({"kind":"cleared","alert":{"id":1,"rule":"r","subject":"s","severity":"info","raised_at":1,"cleared_at":"now","acked_at":null,"message":"m","active":false}})";
}

void TestStreamEvents::malformedAlert()
{
    QFETCH(QString, text);
    QVERIFY(!http::alert_event_from_json(json::parse(text.toStdString())));
}

QTEST_GUILESS_MAIN(TestStreamEvents)
#include "test_stream_events.moc"
