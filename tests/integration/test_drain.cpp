// SPDX-License-Identifier: GPL-3.0-or-later
// A gateway that drains (Gateway::drain, what SIGTERM with --drain-time starts) over real sockets: /healthz
// turns 503 so a balancer stops sending new connections, every response closes its connection so devices
// reconnect elsewhere, and requests are still committed meanwhile. /v1/devices names the gateway holding a
// device's connection.
#include "core/gateway.hpp"
#include "support/http_client.hpp"
#include "support/store_files.hpp"

#include <QTemporaryDir>
#include <QTest>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

using namespace fleetscope;
using namespace fleetscope::testing;
namespace json = boost::json;

class TestDrain : public QObject {
    Q_OBJECT

private slots:
    void drainingAnswersHealthz503AndClosesConnections();
};

void TestDrain::drainingAnswersHealthz503AndClosesConnections()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    Settings s;
    s.listen = "127.0.0.1:0";
    s.db_path = dir.filePath(QStringLiteral("drain.db")).toStdString();
    s.alert_rules = dir.filePath(QStringLiteral("no-rules.json")).toStdString();
    s.workers = 2;
    s.gateway_name = "gw-drain";
    Gateway g(s);
    g.start();
    QCOMPARE(g.name(), std::string("gw-drain"));

    HttpClient c;
    QVERIFY(c.connect(g.port()));
    auto health = c.request(get("/healthz"));
    QVERIFY(health);
    QCOMPARE(health->result_int(), 200);
    QCOMPARE(std::string(json::parse(health->body()).at("gateway").as_string()), std::string("gw-drain"));
    auto res = c.request(post_telemetry(sample_json("d1", 1000, 1)));
    QVERIFY(res);
    QCOMPARE(res->result_int(), 204);
    QVERIFY(res->keep_alive());

    HttpClient reader;
    QVERIFY(reader.connect(g.port()));
    auto devices = reader.request(get("/v1/devices"));
    QVERIFY(devices);
    const json::value list = json::parse(devices->body());
    QCOMPARE(list.as_array().size(), std::size_t(1));
    QVERIFY(list.at(0).at("connected").as_bool());
    QCOMPARE(std::string(list.at(0).at("gateway").as_string()), std::string("gw-drain"));

    g.drain();
    QVERIFY(g.draining());
    // The next answer on an open connection closes it, whatever it is; the request is still committed.
    res = c.request(post_telemetry(sample_json("d1", 1001, 2)));
    QVERIFY(res);
    QCOMPARE(res->result_int(), 204);
    QVERIFY(!res->keep_alive());
    QVERIFY(c.wait_closed());
    // A new connection (the balancer has not noticed yet) is served, and closed after its answer.
    QVERIFY(c.connect(g.port()));
    health = c.request(get("/healthz"));
    QVERIFY(health);
    QCOMPARE(health->result_int(), 503);
    QCOMPARE(std::string(json::parse(health->body()).at("status").as_string()), std::string("draining"));
    QVERIFY(!health->keep_alive());
    QVERIFY(c.wait_closed());
    g.stop();

    const auto rows = read_readings(s.db_path);
    QCOMPARE(rows.size(), std::size_t(2));
    // The device disconnected: after the restart nobody holds it.
    g.start();
    QVERIFY(!g.draining());
    QVERIFY(c.connect(g.port()));
    devices = c.request(get("/v1/devices"));
    QVERIFY(devices);
    const json::value after = json::parse(devices->body());
    QVERIFY(!after.at(0).at("connected").as_bool());
    QVERIFY(after.at(0).at("gateway").is_null());
}

QTEST_GUILESS_MAIN(TestDrain)
#include "test_drain.moc"
