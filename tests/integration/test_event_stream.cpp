// SPDX-License-Identifier: GPL-3.0-or-later
// GET /v1/stream over real sockets against the in-process gateway (issue 16): the hello, snapshots, committed
// samples and alert events arrive as Server-Sent Events; with access control on a peer off loopback needs an
// operator token (401 without one, as every operator endpoint); stream-subscribers bounds the streams open at
// once; and a reader that stops reading stalls neither ingest nor the other streams, and is told what it
// missed in a `lag` event. The remote peer is real, in a network namespace of the test's own
// (private_network.hpp); without root those cases are skipped with that reason.
#include "core/auth/token_cli.hpp"
#include "core/gateway.hpp"
#include "core/http/stream_events.hpp"
#include "core/telemetry/codec.hpp"
#include "integration/private_network.hpp"
#include "support/http_client.hpp"
#include "support/raw_client.hpp"

#include <QTemporaryDir>
#include <QTest>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sstream>
#include <sys/socket.h>
#include <unistd.h>

using namespace fleetscope;
using namespace fleetscope::testing;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

/// A raw client that reads the stream as it comes, and finds its events.
class StreamClient : public testing::RawClient {
public:
    /// Connects from `source` (any when empty) to `host`:`port`; `receive_buffer` > 0 shrinks SO_RCVBUF
    /// first.
    StreamClient(const std::string& host, std::uint16_t port, const std::string& source = {},
                 int receive_buffer = 0)
        : RawClient(port, receive_buffer, host, source)
    {}

    /// The data of the first event named `name` after byte `from`, parsed; null when there is none yet.
    json::value event(std::string_view name, std::size_t from = 0) const
    {
        const std::string& in = received();
        const std::string marker = "event: " + std::string(name) + "\ndata: ";
        const auto at = in.find(marker, from);
        if (at == std::string::npos)
            return nullptr;
        const auto begin = at + marker.size();
        const auto end = in.find('\n', begin);
        if (end == std::string::npos)
            return nullptr;
        boost::system::error_code ec;
        json::value v = json::parse(std::string_view(in).substr(begin, end - begin), ec);
        return ec ? json::value(nullptr) : v;
    }
};

std::string issue(auth::TokenFile kind, const std::string& file, const std::string& name)
{
    const bool op = kind == auth::TokenFile::operators;
    const std::string file_flag = op ? "--operator-token-file" : "--token-file";
    const std::string name_flag = op ? "--name" : "--device";
    const char* argv[] = {op ? "operator" : "token", "add",       file_flag.c_str(), file.c_str(),
                          name_flag.c_str(),         name.c_str()};
    std::ostringstream out, err;
    if (auth::run_token_command(kind, 6, argv, out, err) != 0)
        return {};
    std::string token = out.str();
    while (!token.empty() && token.back() == '\n')
        token.pop_back();
    return token;
}

const std::string kStream = get("/v1/stream");

} // namespace

class TestEventStream : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();

    void eventsArrive();
    void headGetsTheHeaderOnly();
    void operatorTokenRequiredOffLoopback_data();
    void operatorTokenRequiredOffLoopback();
    void subscribersAreBounded();
    void stalledReaderDoesNotStallIngest();

private:
    Settings settings(const char* db) const;
    /// Posts `body` on `c`; the status answered, 0 when none came.
    static int post(HttpClient& c, const std::string& body, const std::string& headers = {});

    QTemporaryDir dir_;
    std::string network_; // why the private network is missing; empty when it is there
};

Settings TestEventStream::settings(const char* db) const
{
    Settings s;
    s.listen = test_listen_address(network_);
    s.db_path = dir_.filePath(QString::fromLatin1(db)).toStdString();
    s.workers = 1;
    s.stack_cache_per_worker = 8;
    s.gateway_name = "gw-test";
    s.alert_rules = dir_.filePath(QStringLiteral("no-rules.json")).toStdString();
    return s;
}

int TestEventStream::post(HttpClient& c, const std::string& body, const std::string& headers)
{
    if (!c.send(post_telemetry(body, headers)))
        return 0;
    const auto r = c.read();
    return r ? r->result_int() : 0;
}

void TestEventStream::initTestCase()
{
    // Before any gateway thread starts, so that every one of them lives in the namespace.
    network_ = enter_private_network();
    if (!network_.empty())
        qWarning("remote-peer cases will be skipped: %s", network_.c_str());
    QVERIFY(dir_.isValid());
}

void TestEventStream::eventsArrive()
{
    Gateway g(settings("events.db"));
    g.start();
    alerts::Rule hot;
    hot.name = "hot";
    hot.metric = "temp_c";
    hot.condition = alerts::Condition::above;
    hot.threshold = 50;
    QCOMPARE(QString::fromStdString(g.set_alert_rules({hot}).error()), QString());

    StreamClient s("127.0.0.1", g.port());
    QVERIFY(s.connected());
    QVERIFY(s.send(kStream));
    QVERIFY2(s.read_until("event: hello\n"), s.received().c_str());
    const std::string& r = s.received();
    QVERIFY2(r.starts_with("HTTP/1.1 200 OK\r\n"), r.c_str());
    QVERIFY2(r.find("Content-Type: text/event-stream\r\n") != std::string::npos, r.c_str());
    QVERIFY2(r.find("Transfer-Encoding: chunked\r\n") != std::string::npos, r.c_str());
    QVERIFY(s.read_until("\n\n", r.find("event: hello")));
    const json::value hello = s.event("hello");
    QVERIFY2(hello.is_object(), r.c_str());
    QCOMPARE(std::string(hello.at("gateway").as_string()), std::string("gw-test"));
    QVERIFY(hello.at("alerts").at("active").is_array());

    HttpClient c;
    QVERIFY(c.connect(g.port()));
    QCOMPARE(post(c, R"({"device":"pump-7","ts":1732630000123,"metrics":{"temp_c":21.5,"rssi":-67}})"), 204);
    QCOMPARE(post(c, R"({"device":"pump-8","ts":1732630000456,"metrics":{"temp_c":90}})"), 204);

    // The samples, as POST /v1/telemetry takes them, read back by the same decoder.
    QVERIFY2(s.read_until("\"device\":\"pump-8\""), s.received().c_str());
    std::vector<telemetry::Sample> got;
    for (std::size_t at = 0; (at = s.received().find("event: devices\ndata: ", at)) != std::string::npos;
         ++at) {
        const auto begin = at + std::strlen("event: devices\ndata: ");
        QVERIFY(s.read_until("\n", begin));
        const auto end = s.received().find('\n', begin);
        auto decoded = telemetry::decode_samples(s.received().substr(begin, end - begin), 0,
                                                 telemetry::DecodeLimits{100000, 256, 8});
        QVERIFY2(decoded.ok(), decoded.error().c_str());
        got.insert(got.end(), decoded->begin(), decoded->end());
    }
    QCOMPARE(got.size(), std::size_t(2));
    QCOMPARE(QString::fromStdString(got[0].device), QStringLiteral("pump-7"));
    QCOMPARE(got[0].ts_ms, std::int64_t(1732630000123));
    QCOMPARE(got[0].metrics.size(), std::size_t(2));
    QCOMPARE(got[1].metrics.at(0).value, 90.0);

    // The rule raised for pump-8 only.
    QVERIFY2(s.read_until("event: alert\n"), s.received().c_str());
    QVERIFY(s.read_until("\n\n", s.received().find("event: alert\n")));
    const auto alert = http::alert_event_from_json(s.event("alert"));
    QVERIFY(alert);
    QCOMPARE(alert->kind, alerts::AlertEvent::Kind::raised);
    QCOMPARE(QString::fromStdString(alert->alert.subject), QStringLiteral("pump-8"));
    QCOMPARE(QString::fromStdString(alert->alert.rule), QStringLiteral("hot"));

    // Snapshots follow every interval; one taken after both commits counts them.
    metrics::Snapshot snap;
    for (std::size_t from = 0;;) {
        const auto at = s.received().find("event: snapshot\n", from);
        if (at == std::string::npos || !s.read_until("\n\n", at)) {
            QVERIFY2(s.read_until("event: snapshot\n", from), "no snapshot with both samples committed");
            continue;
        }
        QVERIFY(http::snapshot_from_json(s.event("snapshot", at), snap));
        if (snap.samples_committed >= 2)
            break;
        from = at + 1;
    }
    QCOMPARE(snap.samples_committed, std::uint64_t(2));
    QCOMPARE(snap.workers.size(), std::size_t(1));
    QVERIFY(snap.ack_latency.count >= 2);
    g.stop();
}

void TestEventStream::headGetsTheHeaderOnly()
{
    Gateway g(settings("head.db"));
    g.start();
    StreamClient c("127.0.0.1", g.port());
    QVERIFY(c.send("HEAD /v1/stream HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
    QVERIFY2(c.read_until("\"status\":\"ok\""), c.received().c_str());
    const std::string& r = c.received();
    const auto second = r.find("HTTP/1.1 200 OK\r\n", 1);
    QVERIFY2(second != std::string::npos, r.c_str());
    const std::string head = r.substr(0, second);
    // The fields a GET gets (RFC 9110 9.3.2), and no body: the next response follows the blank line.
    QVERIFY2(head.find("Content-Type: text/event-stream\r\n") != std::string::npos, head.c_str());
    QVERIFY2(head.find("Transfer-Encoding: chunked\r\n") != std::string::npos, head.c_str());
    QVERIFY2(head.find("Content-Length") == std::string::npos, head.c_str());
    QVERIFY2(head.ends_with("\r\n\r\n"), head.c_str());
    g.stop();
}

void TestEventStream::operatorTokenRequiredOffLoopback_data()
{
    QTest::addColumn<bool>("remote");
    QTest::addColumn<QString>("credential"); // none, device, operator
    QTest::addColumn<int>("status");
    QTest::addRow("loopback, no token") << false << "none" << 200;
    QTest::addRow("remote, no token") << true << "none" << 401;
    QTest::addRow("remote, device token") << true << "device" << 401;
    QTest::addRow("remote, operator token") << true << "operator" << 200;
}

void TestEventStream::operatorTokenRequiredOffLoopback()
{
    QFETCH(bool, remote);
    QFETCH(QString, credential);
    QFETCH(int, status);
    if (remote && !network_.empty())
        QSKIP(network_.c_str());
    const std::string devices = dir_.filePath(QStringLiteral("devices.tokens")).toStdString();
    const std::string operators = dir_.filePath(QStringLiteral("operators.tokens")).toStdString();
    static const std::string device_token = issue(auth::TokenFile::devices, devices, "pump-1");
    static const std::string operator_token = issue(auth::TokenFile::operators, operators, "alice");
    QVERIFY(!device_token.empty() && operator_token.size() == 64);

    Settings s = settings("tokens.db");
    s.token_file = devices;
    s.operator_token_file = operators;
    Gateway g(s);
    g.start();
    const std::string host = remote ? kRemoteAddress : "127.0.0.1";
    const std::string token = credential == "device"     ? device_token
                              : credential == "operator" ? operator_token
                                                         : "";
    StreamClient c(host, g.port(), remote ? kRemoteAddress : "");
    QVERIFY(c.connected());
    QVERIFY(c.send(get("/v1/stream", token.empty() ? std::string() : bearer_header(token))));
    QVERIFY2(c.read_until("\r\n\r\n"), c.received().c_str());
    const std::string line = "HTTP/1.1 " + std::to_string(status) + " ";
    QVERIFY2(c.received().starts_with(line), c.received().c_str());
    if (status == 200) {
        QVERIFY2(c.read_until("event: hello\n"), c.received().c_str());
    } else {
        QVERIFY2(c.read_until("}"), c.received().c_str());
        QVERIFY2(c.received().find("WWW-Authenticate: Bearer") != std::string::npos, c.received().c_str());
        QVERIFY2(c.received().find(credential == "none" ? "operator token required"
                                                        : "not an operator token") != std::string::npos,
                 c.received().c_str());
    }
    g.stop();
}

void TestEventStream::subscribersAreBounded()
{
    Settings s = settings("bounded.db");
    s.stream_subscribers = 2;
    Gateway g(s);
    g.start();
    auto a = std::make_unique<StreamClient>("127.0.0.1", g.port());
    StreamClient b("127.0.0.1", g.port());
    QVERIFY(a->send(kStream) && b.send(kStream));
    QVERIFY(a->read_until("event: hello\n") && b.read_until("event: hello\n"));

    HttpClient third;
    QVERIFY(third.connect(g.port()));
    const auto refused = third.request(kStream);
    QVERIFY(refused);
    QCOMPARE(refused->result_int(), 503);
    QVERIFY2(refused->body().find("stream-subscribers = 2") != std::string::npos, refused->body().c_str());
    QVERIFY(refused->find(bhttp::field::retry_after) != refused->end());

    // A stream that ends gives its slot back once its next write fails.
    a.reset();
    bool admitted = false;
    for (int i = 0; i < 100 && !admitted; ++i) {
        StreamClient again("127.0.0.1", g.port());
        QVERIFY(again.send(kStream));
        QVERIFY(again.read_until("\r\n\r\n"));
        admitted = again.received().starts_with("HTTP/1.1 200 ");
        if (!admitted)
            std::this_thread::sleep_for(50ms);
    }
    QVERIFY2(admitted, "the slot of a closed stream was never given back");
    g.stop();
}

void TestEventStream::stalledReaderDoesNotStallIngest()
{
    Settings s = settings("stalled.db");
    s.subscriber_queue = 64;
    s.write_timeout = 120'000ms; // the stalled stream stays open through the whole test
    Gateway g(s);
    g.start();

    // This reader's window is 4 KB and it reads nothing until the end.
    StreamClient stalled("127.0.0.1", g.port(), {}, 4096);
    QVERIFY(stalled.send(kStream));
    StreamClient live("127.0.0.1", g.port());
    QVERIFY(live.send(kStream));
    QVERIFY(live.read_until("event: hello\n"));

    // About 8 MB of device events, far beyond what the stalled connection's buffers hold.
    std::string metrics;
    for (int m = 0; m < 48; ++m)
        metrics += (m ? "," : "") +
                   ("\"metric_with_a_long_name_" + std::to_string(m) + "\":" + std::to_string(m) + ".25");
    HttpClient c;
    QVERIFY(c.connect(g.port()));
    const int kRequests = 200;
    for (int i = 0; i < kRequests; ++i) {
        std::string body = "[";
        for (int k = 0; k < 20; ++k)
            body += (k ? "," : "") + ("{\"device\":\"dev-" + std::to_string(k) + "\",\"ts\":" +
                                      std::to_string(1000 + i) + ",\"metrics\":{" + metrics + "}}");
        body += "]";
        QCOMPARE(post(c, body), 204);
    }
    // The live stream still follows while the other one stalls. Its own queue (64) may have dropped some of
    // the burst, so a marker is posted until one arrives.
    bool followed = false;
    for (int i = 0; i < 20 && !followed; ++i) {
        const std::string marker = "marker-" + std::to_string(i);
        QCOMPARE(post(c, "{\"device\":\"" + marker + "\",\"metrics\":{\"v\":1}}"), 204);
        followed = live.read_until("\"device\":\"" + marker + "\"", 0, 2s);
    }
    QVERIFY2(followed, "the live stream stopped following while another reader stalled");

    // The stalled reader reads at last: the stream goes on, and says what it dropped for it.
    QVERIFY2(stalled.read_until("event: lag\n"), stalled.received().substr(0, 2000).c_str());
    const auto at = stalled.received().find("event: lag\n");
    QVERIFY(stalled.read_until("\n\n", at));
    const json::value lag = stalled.event("lag", at);
    QVERIFY(lag.is_object());
    QVERIFY2(lag.at("dropped").to_number<std::uint64_t>() > 0, stalled.received().substr(at, 200).c_str());
    g.stop();
}

QTEST_GUILESS_MAIN(TestEventStream)
#include "test_event_stream.moc"
