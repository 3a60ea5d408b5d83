// SPDX-License-Identifier: GPL-3.0-or-later
// MQTT ingest (issue 17) end to end with the real parts: a Mosquitto broker started here (persistence on),
// the real fleetscope-gateway binary subscribing through it, and mosquitto_pub as the devices. JSON and line
// protocol payloads with the device from the topic; a bad payload acknowledged, counted and not stored while
// the subscription goes on; messages published while the gateway is stopped arrive after it restarts; a
// broker restart shows on /metrics and the gateway reconnects; and kill -9 of the gateway while a publisher
// sends at QoS 1 loses nothing the broker acknowledged to the publisher.
#include "support/gateway_process.hpp"
#include "support/http_client.hpp"
#include "support/mosquitto_broker.hpp"

#include <QTemporaryDir>
#include <QTest>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <csignal>
#include <fstream>
#include <set>
#include <thread>

using namespace fleetscope;
using namespace fleetscope::testing;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

constexpr const char* kTopicFilter = "fleet/+/telemetry";

std::string topic_of(const std::string& device)
{
    return "fleet/" + device + "/telemetry";
}

/// The timestamps of `device`'s readings of `metric`, as GET /v1/devices/{device}/samples returns them.
std::vector<std::int64_t> stamps(std::uint16_t port, const std::string& device, const std::string& metric)
{
    HttpClient c;
    std::vector<std::int64_t> out;
    if (!c.connect(port))
        return out;
    for (const auto& [ts, value] :
         device_readings(c, device, metric).value_or(std::vector<std::pair<std::int64_t, double>>{}))
        out.push_back(ts);
    return out;
}

/// The value of a Prometheus sample line of /metrics, or -1.
double metric(std::uint16_t port, const std::string& name)
{
    HttpClient c;
    if (!c.connect(port))
        return -1;
    const auto r = c.request(get("/metrics"));
    if (!r)
        return -1;
    const std::string body(r->body());
    const auto at = body.find("\n" + name + " ");
    return at == std::string::npos ? -1 : std::atof(body.c_str() + at + name.size() + 2);
}

/// Waits until `pred` holds, for up to `timeout`.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = 30s)
{
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!pred()) {
        if (std::chrono::steady_clock::now() > deadline)
            return false;
        std::this_thread::sleep_for(50ms);
    }
    return true;
}

} // namespace

class TestMqtt : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void cleanupTestCase();

    void jsonAndLineProtocolArrive();
    void badPayloadIsAckedCountedNotStored();
    void publishedWhileStoppedArriveAfterRestart();
    void brokerOutageReconnects();
    void killDuringPublishLosesNothingAcked();

private:
    void start_gateway();
    std::string write_lines(const char* name, const std::vector<std::string>& lines)
    {
        const std::string path = dir_.filePath(QLatin1String(name)).toStdString();
        std::ofstream out(path, std::ios::trunc);
        for (const auto& l : lines)
            out << l << '\n';
        return path;
    }

    QTemporaryDir dir_;
    std::string program_;
    std::string db_;
    MosquittoBroker broker_;
    std::unique_ptr<GatewayProcess> gateway_;
};

void TestMqtt::initTestCase()
{
    QVERIFY(dir_.isValid());
    if (const auto why = MosquittoBroker::unavailable(); !why.empty())
        QFAIL(why.c_str());
    std::string why;
    program_ = GatewayProcess::program(why);
    QVERIFY2(!program_.empty(), why.c_str());
    db_ = dir_.filePath(QStringLiteral("mqtt.db")).toStdString();
    broker_.start();
    start_gateway();
}

void TestMqtt::cleanupTestCase()
{
    if (gateway_ && gateway_->running()) {
        gateway_->signal(SIGTERM);
        gateway_->wait(20s);
    }
    gateway_.reset();
    broker_.stop();
}

void TestMqtt::start_gateway()
{
    // A log per run: GatewayProcess reads the port from the log's "listening on" line.
    static int run = 0;
    const std::string log = dir_.filePath(QStringLiteral("gateway-%1.log").arg(++run)).toStdString();
    gateway_ = std::make_unique<GatewayProcess>();
    try {
        gateway_->start(program_,
                        {"--listen", "127.0.0.1:0", "--db", db_, "--workers", "1", "--mqtt-broker",
                         broker_.url(), "--mqtt-topic", kTopicFilter, "--mqtt-topic", "lab/#",
                         "--mqtt-client-id", "fleetscope-test", "--mqtt-reconnect-min", "100",
                         "--mqtt-reconnect-max", "400"},
                        log);
    } catch (const std::exception& e) {
        QFAIL(e.what());
    }
    QVERIFY2(eventually([this] { return metric(gateway_->port(), "fleetscope_mqtt_link") == 2; }),
             gateway_->log().c_str());
}

void TestMqtt::jsonAndLineProtocolArrive()
{
    const auto port = gateway_->port();
    // JSON without a device (the topic's + segment names it), an array, and line protocol.
    QCOMPARE(broker_.publish({"-q", "1", "-t", topic_of("dev-1"), "-m",
                              R"({"ts":1700000000000,"metrics":{"temp":21.5}})"}),
             0);
    QCOMPARE(
        broker_.publish(
            {"-q", "1", "-t", topic_of("dev-1"), "-m",
             R"([{"ts":1700000001000,"metrics":{"temp":22}},{"device":"dev-1","ts":1700000002000,"metrics":{"temp":23}}])"}),
        0);
    QCOMPARE(broker_.publish(
                 {"-q", "1", "-t", topic_of("dev-2"), "-m", "env temp=19.5,hum=40i 1700000003000000000"}),
             0);
    // A filter without +: the device comes from the payload.
    QCOMPARE(
        broker_.publish({"-q", "1", "-t", "lab/bench", "-m", "env,device=dev-3 temp=18 1700000004000000000"}),
        0);
    QVERIFY2(eventually([&] { return stamps(port, "dev-1", "temp").size() == 3; }), gateway_->log().c_str());
    QCOMPARE(stamps(port, "dev-1", "temp"),
             (std::vector<std::int64_t>{1'700'000'000'000, 1'700'000'001'000, 1'700'000'002'000}));
    QVERIFY(eventually([&] { return stamps(port, "dev-2", "env.hum").size() == 1; }));
    QVERIFY(eventually([&] { return stamps(port, "dev-3", "env.temp").size() == 1; }));
    QVERIFY(eventually([&] { return metric(port, "fleetscope_mqtt_messages_committed_total") == 4; }));
}

void TestMqtt::badPayloadIsAckedCountedNotStored()
{
    const auto port = gateway_->port();
    QCOMPARE(broker_.publish({"-q", "1", "-t", topic_of("bad-1"), "-m", "{not json"}), 0);
    QCOMPARE(broker_.publish(
                 {"-q", "1", "-t", topic_of("bad-1"), "-m", R"({"device":"other","metrics":{"v":1}})"}),
             0);
    QCOMPARE(broker_.publish(
                 {"-q", "1", "-t", topic_of("bad-1"), "-m", R"({"ts":1700000010000,"metrics":{"v":1}})"}),
             0);
    // The good message after the bad ones arrives: the bad ones did not wedge the subscription.
    QVERIFY2(eventually([&] { return stamps(port, "bad-1", "v").size() == 1; }), gateway_->log().c_str());
    QVERIFY(eventually([&] { return metric(port, "fleetscope_mqtt_messages_invalid_total") == 2; }));
    QVERIFY(stamps(port, "other", "v").empty());
    QVERIFY(gateway_->log().find("invalid message on 'fleet/bad-1/telemetry'") != std::string::npos);
}

void TestMqtt::publishedWhileStoppedArriveAfterRestart()
{
    gateway_->signal(SIGTERM);
    QVERIFY(gateway_->wait(20s).has_value());
    constexpr int kMessages = 300;
    std::vector<std::string> lines;
    for (int i = 0; i < kMessages; ++i)
        lines.push_back(R"({"ts":)" + std::to_string(1'700'001'000'000 + i) + R"(,"metrics":{"v":)" +
                        std::to_string(i) + "}}");
    QCOMPARE(run_to_end(broker_.publish_lines(topic_of("offline-1"), write_lines("offline.txt", lines)), 60s),
             0);
    start_gateway();
    QVERIFY2(eventually([&] { return stamps(gateway_->port(), "offline-1", "v").size() == kMessages; }),
             gateway_->log().c_str());
}

void TestMqtt::brokerOutageReconnects()
{
    const auto port = gateway_->port();
    const double connects = metric(port, "fleetscope_mqtt_connects_total");
    broker_.stop();
    QVERIFY2(eventually([&] { return metric(port, "fleetscope_mqtt_link") == 1; }), gateway_->log().c_str());
    broker_.start();
    QVERIFY2(eventually([&] { return metric(port, "fleetscope_mqtt_link") == 2; }), gateway_->log().c_str());
    QVERIFY(metric(port, "fleetscope_mqtt_connects_total") > connects);
    QCOMPARE(broker_.publish({"-q", "1", "-t", topic_of("after-outage"), "-m", R"({"metrics":{"v":1}})"}), 0);
    QVERIFY(eventually([&] { return stamps(port, "after-outage", "v").size() == 1; }));
}

void TestMqtt::killDuringPublishLosesNothingAcked()
{
    constexpr int kMessages = 20000;
    constexpr int kKills = 8;
    std::vector<std::string> lines;
    for (int i = 0; i < kMessages; ++i)
        lines.push_back("k v=" + std::to_string(i) + " " + std::to_string(1'700'002'000'000 + i) + "000000");
    const auto path = write_lines("kill.txt", lines);

    ChildProcess publisher;
    publisher.start(broker_.publish_lines(topic_of("kill-1"), path));
    // Kill while messages flow, several times: the window between Paho's acknowledgement and the commit is
    // short, so one kill alone would seldom land in it. The broker queues what the gateway has not taken yet,
    // so the flow goes on after the publisher is done.
    int kills = 0;
    for (std::size_t stored = 0; kills < kKills; ++kills) {
        QVERIFY2(eventually([&] { return stamps(gateway_->port(), "kill-1", "k.v").size() > stored + 500; }),
                 gateway_->log().c_str());
        stored = stamps(gateway_->port(), "kill-1", "k.v").size();
        if (stored + 2000 > kMessages)
            break;
        gateway_->signal(SIGKILL);
        QVERIFY(gateway_->wait(10s).has_value());
        start_gateway();
    }
    QVERIFY2(kills > 1, "fewer than two kills while messages flowed: publish more messages");
    const auto status = publisher.wait(120s);
    QVERIFY(status.has_value());
    // Exit 0: the broker acknowledged every message to the publisher.
    QVERIFY(WIFEXITED(*status) && WEXITSTATUS(*status) == 0);

    std::set<std::int64_t> got;
    QVERIFY2(eventually(
                 [&] {
                     const auto s = stamps(gateway_->port(), "kill-1", "k.v");
                     got = std::set<std::int64_t>(s.begin(), s.end());
                     return got.size() == kMessages;
                 },
                 60s),
             ("distinct readings stored: " + std::to_string(got.size()) + " of " + std::to_string(kMessages) +
              "\n" + gateway_->log())
                 .c_str());
    QCOMPARE(*got.begin(), std::int64_t(1'700'002'000'000));
    QCOMPARE(*got.rbegin(), std::int64_t(1'700'002'000'000 + kMessages - 1));
}

QTEST_GUILESS_MAIN(TestMqtt)
#include "test_mqtt.moc"
