// SPDX-License-Identifier: GPL-3.0-or-later
// The gateway's HTTP contract (README.md, HTTP API) over real loopback sockets: keep-alive, pipelining, every
// error status with its JSON body, timeouts, parked connections, queries, metrics, backpressure and graceful
// stop. Requests are written as raw bytes so each test controls the framing exactly.
#include "core/gateway.hpp"
#include "support/http_client.hpp"
#include "support/loopback_settings.hpp"
#include "support/store_files.hpp"

#include <QTemporaryDir>
#include <QTest>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <numeric>
#include <set>
#include <thread>

using namespace fleetscope;
using namespace fleetscope::testing;
namespace json = boost::json;
using std::chrono::steady_clock;

namespace {

Settings base_settings(const QTemporaryDir& dir)
{
    return loopback_settings(dir, "t.db");
}

std::unique_ptr<Gateway> start_gateway(const Settings& s)
{
    auto g = std::make_unique<Gateway>(s);
    g->start();
    return g;
}

std::int64_t elapsed_ms(steady_clock::time_point since)
{
    return std::chrono::duration_cast<milliseconds>(steady_clock::now() - since).count();
}

/// The body parsed as JSON, or null when it is not JSON.
json::value parse_json(const Response& r)
{
    boost::system::error_code ec;
    json::value v = json::parse(r.body(), ec);
    return ec ? json::value() : v;
}

/// The object of `device` in a GET /v1/devices answer, or null.
json::value device_entry(const Response& r, std::string_view device)
{
    const json::value v = parse_json(r);
    if (!v.is_array())
        return {};
    for (const auto& d : v.as_array())
        if (d.is_object() && d.as_object().contains("device") && d.at("device") == json::string_view(device))
            return d;
    return {};
}

/// (ts, metric, value) rows of a GET /v1/devices/{d}/samples answer, in the order received.
struct Row {
    std::int64_t ts;
    std::string metric;
    double value;
    bool operator==(const Row&) const = default;
};

std::optional<std::vector<Row>> sample_rows(const Response& r)
{
    const json::value v = parse_json(r);
    if (!v.is_array())
        return std::nullopt;
    std::vector<Row> rows;
    for (const auto& e : v.as_array()) {
        if (!e.is_object() || !e.at("ts").is_int64() || !e.at("metric").is_string())
            return std::nullopt;
        rows.push_back(Row{e.at("ts").as_int64(), std::string(e.at("metric").as_string()),
                           e.at("value").to_number<double>()});
    }
    return rows;
}

std::uint64_t parked_total(const metrics::Snapshot& s)
{
    std::uint64_t n = 0;
    for (const auto& w : s.workers)
        n += w.parked;
    return n;
}

/// What one posting client thread saw; read by the test thread after join.
struct ClientLog {
    std::vector<std::int64_t> acked; // ts of every sample answered 204
    std::vector<std::string> unexpected;
    int overloaded = 0; // 503 answers, each with a checked Retry-After and body
};

} // namespace

class TestHttp : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void cleanupTestCase();

    void keepAliveCountsAndConnected();
    void pipelinedResponsesInOrder();
    void errors_data();
    void errors();
    void invalidSampleStoresNothing();
    void samplesReadAsWritten();
    void idleTimeoutCloses();
    void parkedConnectionStillAnswers();
    void samplesQueryFilters();
    void metricsAndHealth();
    void gracefulStopLosesNothing();
    void secondGatewayOnSamePortFails();
    void expectContinueGetsInterimResponse();
    // Last: an in-process gateway that crashes takes the test process with it and hides what follows.
    void overloadAnswers503WithRetryAfter();

private:
    // One gateway with small limits and timeouts, shared by the tests that only send requests to it.
    QTemporaryDir dir_;
    std::unique_ptr<Gateway> gateway_;
    std::uint16_t port_ = 0;
};

void TestHttp::initTestCase()
{
    QVERIFY(dir_.isValid());
    Settings s = base_settings(dir_);
    s.max_body_bytes = 1024;
    s.max_header_bytes = 1024;
    s.max_samples_per_request = 5;
    s.header_timeout = milliseconds(400);
    s.body_timeout = milliseconds(400);
    gateway_ = start_gateway(s);
    port_ = gateway_->port();
    QVERIFY(port_ != 0);
    QCOMPARE(QString::fromStdString(gateway_->listening_address()),
             QStringLiteral("127.0.0.1:%1").arg(port_));
}

void TestHttp::cleanupTestCase()
{
    if (gateway_)
        gateway_->stop();
}

void TestHttp::keepAliveCountsAndConnected()
{
    HttpClient device;
    QVERIFY(device.connect(port_));
    for (int i = 0; i < 100; ++i) {
        auto res = device.request(post_telemetry(sample_json("ka-1", 1'000 + i, i)));
        QVERIFY2(
            res,
            qPrintable(
                QStringLiteral("POST %1: %2").arg(i).arg(QString::fromStdString(device.error().message()))));
        QCOMPARE(res->result_int(), 204);
        QVERIFY(res->keep_alive());
    }

    HttpClient viewer;
    QVERIFY(viewer.connect(port_));
    auto res = viewer.request(get("/v1/devices"));
    QVERIFY(res);
    QCOMPARE(res->result_int(), 200);
    QVERIFY(str((*res)[bhttp::field::content_type]).starts_with("application/json"));
    json::value d = device_entry(*res, "ka-1");
    QVERIFY2(d.is_object(), res->body().c_str());
    QCOMPARE(d.at("samples").to_number<std::int64_t>(), 100);
    QCOMPARE(d.at("first_seen").to_number<std::int64_t>(), 1'000);
    QCOMPARE(d.at("last_seen").to_number<std::int64_t>(), 1'099);
    QCOMPARE(d.at("connected"), json::value(true));

    // Once the device hangs up it is no longer connected; the server notices on its next read.
    device.close();
    const auto t0 = steady_clock::now();
    bool connected = true;
    while (connected && elapsed_ms(t0) < 3000) {
        res = viewer.request(get("/v1/devices"));
        QVERIFY(res);
        d = device_entry(*res, "ka-1");
        QVERIFY(d.is_object());
        connected = d.at("connected").as_bool();
        if (connected)
            QTest::qWait(20);
    }
    QVERIFY2(!connected, "ka-1 still connected 3 s after its connection closed");
}

void TestHttp::pipelinedResponsesInOrder()
{
    std::string burst;
    std::vector<int> expected;
    std::set<std::int64_t> posted;
    for (int i = 0; i < 20; ++i) {
        if (i % 4 == 1) {
            burst += get("/healthz");
            expected.push_back(200);
        } else if (i == 10) {
            burst += get("/v1/nowhere");
            expected.push_back(404);
        } else {
            burst += post_telemetry(sample_json("pipe-1", 5'000 + i, i));
            posted.insert(5'000 + i);
            expected.push_back(204);
        }
    }
    HttpClient c;
    QVERIFY(c.connect(port_));
    QVERIFY(c.send(burst));
    for (int i = 0; i < 20; ++i) {
        auto res = c.read();
        QVERIFY2(
            res,
            qPrintable(
                QStringLiteral("response %1: %2").arg(i).arg(QString::fromStdString(c.error().message()))));
        QCOMPARE(res->result_int(), expected[std::size_t(i)]);
        if (expected[std::size_t(i)] == 200)
            QCOMPARE(parse_json(*res).at("status"), json::value("ok"));
    }

    auto res = c.request(get("/v1/devices/pipe-1/samples"));
    QVERIFY(res);
    auto rows = sample_rows(*res);
    QVERIFY(rows);
    std::set<std::int64_t> stored;
    for (auto& r : *rows)
        stored.insert(r.ts);
    QCOMPARE(stored, posted);
}

void TestHttp::errors_data()
{
    QTest::addColumn<QByteArray>("raw");
    QTest::addColumn<int>("status");
    QTest::addColumn<QString>("mentions");  // the error message names the problem and its limit or form
    QTest::addColumn<QByteArray>("header"); // a header the status requires, with its value
    QTest::addColumn<QByteArray>("value");
    QTest::addColumn<bool>("closes"); // the connection must end after the answer
    QTest::addColumn<int>("min_ms");  // timeouts: the answer may not come sooner

    const auto post = [](std::string_view body) { return QByteArray::fromStdString(post_telemetry(body)); };
    const auto get_ = [](std::string_view target) { return QByteArray::fromStdString(get(target)); };

    QTest::addRow("400 malformed JSON") << post(R"({"device":"e-1","ts":1,)") << 400 << "malformed JSON"
                                        << QByteArray() << QByteArray() << false << 0;
    QTest::addRow("400 empty body") << post("") << 400 << "empty body" << QByteArray() << QByteArray()
                                    << false << 0;
    QTest::addRow("400 invalid sample names its index")
        << post(R"([{"device":"e-2","ts":1,"metrics":{"v":1}},{"device":"e-2","ts":2,"metrics":{"v":2}},)"
                R"({"device":"e-2","ts":3,"metrics":{"v":"hot"}}])")
        << 400 << "sample 2: metrics.v: expected a finite number" << QByteArray() << QByteArray() << false
        << 0;
    QTest::addRow("400 invalid device") << post(R"({"device":"no spaces","metrics":{"v":1}})") << 400
                                        << "[A-Za-z0-9._:-]" << QByteArray() << QByteArray() << false << 0;
    {
        std::string six = "[";
        for (int i = 0; i < 6; ++i)
            six += (i ? "," : "") + sample_json("e-3", i, i);
        six += "]";
        QTest::addRow("400 more samples than max-samples")
            << post(six) << 400 << "more than 5 samples" << QByteArray() << QByteArray() << false << 0;
    }
    QTest::addRow("400 malformed HTTP") << QByteArray("NOT HTTP AT ALL\r\n\r\n") << 400 << "malformed HTTP"
                                        << QByteArray() << QByteArray() << true << 0;
    QTest::addRow("400 samples limit=0")
        << get_("/v1/devices/e-1/samples?limit=0") << 400 << "limit: expected 1 to 100000" << QByteArray()
        << QByteArray() << false << 0;
    QTest::addRow("400 samples from not a number")
        << get_("/v1/devices/e-1/samples?from=yesterday") << 400 << "from: expected a non-negative integer"
        << QByteArray() << QByteArray() << false << 0;
    QTest::addRow("400 samples to negative")
        << get_("/v1/devices/e-1/samples?to=-5") << 400 << "to: expected a non-negative integer"
        << QByteArray() << QByteArray() << false << 0;
    QTest::addRow("400 samples bad metric")
        << get_("/v1/devices/e-1/samples?metric=a%20b") << 400 << "metric: expected 1 to 64 characters"
        << QByteArray() << QByteArray() << false << 0;
    QTest::addRow("400 samples unknown parameter")
        << get_("/v1/devices/e-1/samples?colour=red") << 400 << "unknown query parameter 'colour'"
        << QByteArray() << QByteArray() << false << 0;
    QTest::addRow("400 samples bad device")
        << get_("/v1/devices/a%20b/samples") << 400 << "device: expected 1 to 128 characters" << QByteArray()
        << QByteArray() << false << 0;
    QTest::addRow("404 unknown path") << get_("/v2/nothing") << 404 << "no such endpoint '/v2/nothing'"
                                      << QByteArray() << QByteArray() << false << 0;
    // Quoted client bytes that are not UTF-8 would make the error body invalid JSON (found by fuzzing).
    QTest::addRow("404 path with bytes that are not UTF-8")
        << get_("/v2/\x80\xff") << 404 << "no such endpoint '/v2/\\x80\\xff'" << QByteArray() << QByteArray()
        << false << 0;
    // Refused from the header alone, and with no body to leave unread: the connection carries on.
    QTest::addRow("405 GET /v1/telemetry") << get_("/v1/telemetry") << 405 << "accepts POST"
                                           << QByteArray("Allow") << QByteArray("POST") << false << 0;
    QTest::addRow("405 POST /v1/devices")
        << QByteArray("POST /v1/devices HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      "Content-Length: 2\r\n\r\n[]")
        << 405 << "accepts GET, HEAD" << QByteArray("Allow") << QByteArray("GET, HEAD") << false << 0;
    QTest::addRow("411 no Content-Length")
        << QByteArray("POST /v1/telemetry HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\r\n")
        << 411 << "Content-Length" << QByteArray() << QByteArray() << true << 0;
    // The body is never sent: the answer must come from the header alone, before any body byte is buffered.
    QTest::addRow("413 Content-Length above max-body-bytes")
        << QByteArray("POST /v1/telemetry HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      "Content-Length: 5000\r\n\r\n")
        << 413 << "1024" << QByteArray() << QByteArray() << true << 0;
    // Any route: Beast would reserve the announced length as the body starts (found by fuzzing: 100 GB).
    QTest::addRow("413 Content-Length above max-body-bytes on a GET")
        << QByteArray("GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n") << 413
        << "max-body-bytes" << QByteArray() << QByteArray() << true << 0;
    {
        // Each chunk is under the limit; together they exceed it.
        QByteArray chunked("POST /v1/telemetry HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                           "Transfer-Encoding: chunked\r\n\r\n");
        for (int i = 0; i < 3; ++i)
            chunked += "258\r\n" + QByteArray(0x258, ' ') + "\r\n";
        chunked += "0\r\n\r\n";
        QTest::addRow("413 chunked body above max-body-bytes")
            << chunked << 413 << "max-body-bytes (1024 bytes)" << QByteArray() << QByteArray() << true << 0;
    }
    QTest::addRow("415 text/plain")
        << QByteArray(
               "POST /v1/telemetry HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n"
               "\r\n{}")
        << 415 << "expected application/json" << QByteArray() << QByteArray() << true << 0;
    QTest::addRow("415 Content-Type with bytes that are not UTF-8")
        << QByteArray("POST /v1/telemetry HTTP/1.1\r\nHost: x\r\nContent-Type: text/\xc3\r\n"
                      "Content-Length: 2\r\n\r\n{}")
        << 415 << "'text/\\xc3'" << QByteArray() << QByteArray() << true << 0;
    QTest::addRow("431 header above max-header-bytes")
        << QByteArray::fromStdString(get("/healthz", "X-Fill: " + std::string(1500, 'a') + "\r\n")) << 431
        << "max-header-bytes (1024 bytes)" << QByteArray() << QByteArray() << true << 0;
    QTest::addRow("408 header timeout")
        << QByteArray("POST /v1/telemetry HTTP/1.1\r\nHost: x\r\n") << 408 << "header-timeout (400 ms)"
        << QByteArray() << QByteArray() << true << 380;
    QTest::addRow("408 body timeout")
        << QByteArray("POST /v1/telemetry HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      "Content-Length: 100\r\n\r\n{\"device\":")
        << 408 << "body-timeout (400 ms)" << QByteArray() << QByteArray() << true << 380;
}

void TestHttp::errors()
{
    QFETCH(QByteArray, raw);
    QFETCH(int, status);
    QFETCH(QString, mentions);
    QFETCH(QByteArray, header);
    QFETCH(QByteArray, value);
    QFETCH(bool, closes);
    QFETCH(int, min_ms);

    HttpClient c;
    QVERIFY(c.connect(port_));
    const auto t0 = steady_clock::now();
    auto res = c.request(raw.toStdString(), milliseconds(3000));
    QVERIFY2(res, qPrintable("no response: " + QString::fromStdString(c.error().message())));
    const auto took = elapsed_ms(t0);
    QVERIFY2(res->result_int() == status, qPrintable(QStringLiteral("status %1, expected %2; body: %3")
                                                         .arg(res->result_int())
                                                         .arg(status)
                                                         .arg(QString::fromStdString(res->body()))));
    QVERIFY2(took >= min_ms,
             qPrintable(QStringLiteral("answered after %1 ms, before the timeout").arg(took)));

    QVERIFY(str((*res)[bhttp::field::content_type]).starts_with("application/json"));
    const json::value body = parse_json(*res);
    QVERIFY2(body.is_object() && body.as_object().contains("error") && body.at("error").is_string(),
             res->body().c_str());
    const QString message = QString::fromStdString(std::string(body.at("error").as_string()));
    QVERIFY2(message.contains(mentions), qPrintable("error: " + message));
    if (!header.isEmpty())
        QCOMPARE(QByteArray::fromStdString(str((*res)[header.toStdString()])), value);

    if (closes) {
        QVERIFY(!res->keep_alive());
        QVERIFY2(c.wait_closed(milliseconds(2000)), "the connection stayed open after a framing error");
    } else {
        // The request was framed correctly, so the connection carries on.
        QVERIFY(res->keep_alive());
        auto next = c.request(get("/healthz"));
        QVERIFY2(next, qPrintable("after the error: " + QString::fromStdString(c.error().message())));
        QCOMPARE(next->result_int(), 200);
    }
}

void TestHttp::invalidSampleStoresNothing()
{
    // Samples 0 and 1 are valid; sample 1 of the second body has a bad ts. All or nothing: none is stored.
    HttpClient c;
    QVERIFY(c.connect(port_));
    const std::string body =
        "[" + sample_json("inv-1", 1, 1) + "," + R"({"device":"inv-1","ts":"soon","metrics":{"v":2}})" + "]";
    auto res = c.request(post_telemetry(body));
    QVERIFY(res);
    QCOMPARE(res->result_int(), 400);
    QVERIFY2(QString::fromStdString(res->body()).contains("sample 1: ts: expected an integer"),
             res->body().c_str());

    res = c.request(get("/v1/devices/inv-1/samples"));
    QVERIFY(res);
    QCOMPARE(res->result_int(), 200);
    QCOMPARE(res->body(), std::string("[]"));
    res = c.request(get("/v1/devices"));
    QVERIFY(res);
    QVERIFY2(device_entry(*res, "inv-1").is_null(), res->body().c_str());
}

void TestHttp::samplesReadAsWritten()
{
    // Values come back as people write them, not in Boost.JSON's "2.15E1" form, and read back exactly.
    HttpClient c;
    QVERIFY(c.connect(port_));
    const std::string body = R"({"device":"num-1","ts":5,"metrics":{"a":21.5,"b":-0.1,"c":1e300,"d":3}})";
    auto res = c.request(post_telemetry(body));
    QVERIFY(res);
    QCOMPARE(res->result_int(), 204);
    res = c.request(get("/v1/devices/num-1/samples"));
    QVERIFY(res);
    QCOMPARE(res->body(),
             std::string(R"([{"ts":5,"metric":"a","value":21.5},{"ts":5,"metric":"b","value":-0.1},)"
                         R"({"ts":5,"metric":"c","value":1e+300},{"ts":5,"metric":"d","value":3}])"));
    auto rows = sample_rows(*res);
    QVERIFY(rows);
    QCOMPARE(rows->size(), std::size_t(4));
    QCOMPARE(rows->at(1).value, -0.1);
}

void TestHttp::overloadAnswers503WithRetryAfter()
{
    QTemporaryDir dir;
    Settings s = base_settings(dir);
    s.max_samples_per_request = 1;
    s.store_queue_samples = 1;
    s.retry_after_seconds = 2;
    auto g = start_gateway(s);
    const auto port = g->port();

    constexpr int kClients = 32;
    constexpr int kPosts = 40;
    std::vector<ClientLog> logs(kClients);
    std::vector<std::thread> threads;
    for (int t = 0; t < kClients; ++t) {
        threads.emplace_back([&, t] {
            ClientLog& log = logs[std::size_t(t)];
            const std::string device = "bp-" + std::to_string(t);
            HttpClient c;
            if (!c.connect(port)) {
                log.unexpected.push_back("connect: " + c.error().message());
                return;
            }
            for (int i = 0; i < kPosts; ++i) {
                auto res = c.request(post_telemetry(sample_json(device, i, i)));
                if (!res) {
                    log.unexpected.push_back("post: " + c.error().message());
                    return;
                }
                if (res->result_int() == 204) {
                    log.acked.push_back(i);
                } else if (res->result_int() == 503) {
                    ++log.overloaded;
                    const json::value body = parse_json(*res);
                    if (str((*res)[bhttp::field::retry_after]) != "2")
                        log.unexpected.push_back("503 without Retry-After: 2");
                    if (!body.is_object() || !body.as_object().contains("error") ||
                        body.at("error").as_string().find("store-queue = 1") == json::string::npos)
                        log.unexpected.push_back("503 body: " + res->body());
                    if (!res->keep_alive())
                        log.unexpected.push_back("503 closed the connection");
                } else {
                    log.unexpected.push_back("status " + std::to_string(res->result_int()) + ": " +
                                             res->body());
                }
            }
        });
    }
    for (auto& t : threads)
        t.join();
    g->stop();

    int overloaded = 0;
    std::set<std::pair<std::string, std::int64_t>> acked;
    for (int t = 0; t < kClients; ++t) {
        const auto& log = logs[std::size_t(t)];
        QVERIFY2(log.unexpected.empty(), first(log.unexpected));
        overloaded += log.overloaded;
        for (auto ts : log.acked)
            acked.emplace("bp-" + std::to_string(t), ts);
    }
    qInfo("%d of %d posts answered 503", overloaded, kClients * kPosts);
    QVERIFY2(overloaded > 0, "no 503 although the store queue holds one sample");
    QCOMPARE(int(acked.size()) + overloaded, kClients * kPosts);

    // Every acknowledged sample is stored, and nothing refused was stored.
    const auto rows = read_readings(s.db_path);
    const std::set<std::pair<std::string, std::int64_t>> stored(rows.begin(), rows.end());
    QCOMPARE(rows.size(), stored.size());
    QCOMPARE(stored, acked);
}

void TestHttp::idleTimeoutCloses()
{
    QTemporaryDir dir;
    Settings s = base_settings(dir);
    s.idle_timeout = milliseconds(300);
    s.park_after = milliseconds(100);
    auto g = start_gateway(s);

    HttpClient c;
    QVERIFY(c.connect(g->port()));
    auto res = c.request(post_telemetry(sample_json("idle-1", 1, 1)));
    QVERIFY(res);
    QCOMPARE(res->result_int(), 204);
    const auto t0 = steady_clock::now();
    QVERIFY2(c.wait_closed(milliseconds(3000)), "the idle connection was not closed");
    const auto took = elapsed_ms(t0);
    qInfo("idle connection closed after %lld ms (idle-timeout 300 ms, park-after 100 ms)",
          static_cast<long long>(took));
    QVERIFY2(took >= 250 && took <= 1000, qPrintable(QStringLiteral("closed after %1 ms").arg(took)));

    // A connection that never sends a byte is idle too.
    HttpClient silent;
    QVERIFY(silent.connect(g->port()));
    QVERIFY(silent.wait_closed(milliseconds(3000)));
}

void TestHttp::parkedConnectionStillAnswers()
{
    QTemporaryDir dir;
    Settings s = base_settings(dir);
    s.idle_timeout = milliseconds(5000);
    s.park_after = milliseconds(100);
    s.sample_interval = milliseconds(20);
    auto g = start_gateway(s);

    HttpClient c;
    QVERIFY(c.connect(g->port()));
    for (int round = 0; round < 3; ++round) {
        auto res = c.request(post_telemetry(sample_json("park-1", round, round)));
        QVERIFY(res);
        QCOMPARE(res->result_int(), 204);

        // After park-after of quiet the connection gives its fiber back; the snapshot counts it as parked.
        const auto t0 = steady_clock::now();
        metrics::Snapshot snap = g->snapshot();
        while (parked_total(snap) == 0 && elapsed_ms(t0) < 2000) {
            QTest::qWait(10);
            snap = g->snapshot();
        }
        QCOMPARE(parked_total(snap), std::uint64_t(1));
        QCOMPARE(snap.connections_open, std::uint64_t(1));
    }
    // The parked connection wakes for a request and answers it, here a pipelined pair.
    QVERIFY(c.send(post_telemetry(sample_json("park-1", 3, 3)) + get("/v1/devices/park-1/samples")));
    auto res = c.read();
    QVERIFY(res);
    QCOMPARE(res->result_int(), 204);
    res = c.read();
    QVERIFY(res);
    QCOMPARE(res->result_int(), 200);
    auto rows = sample_rows(*res);
    QVERIFY(rows);
    QCOMPARE(rows->size(), std::size_t(4));
}

void TestHttp::samplesQueryFilters()
{
    HttpClient c;
    QVERIFY(c.connect(port_));
    // Posted out of time order, two metrics each: the answer must come back in time order.
    std::vector<std::int64_t> order(10);
    std::iota(order.begin(), order.end(), 0);
    std::reverse(order.begin(), order.begin() + 5);
    std::rotate(order.begin(), order.begin() + 3, order.end());
    for (auto i : order) {
        const std::int64_t ts = 10'000 + i * 10;
        const std::string body = R"({"device":"query-1","ts":)" + std::to_string(ts) +
                                 R"(,"metrics":{"temp":)" + std::to_string(20.5 + double(i)) + R"(,"rssi":)" +
                                 std::to_string(-60 - i) + "}}";
        auto res = c.request(post_telemetry(body));
        QVERIFY(res);
        QCOMPARE(res->result_int(), 204);
    }
    const auto expect = [](std::string_view metric, int from, int to) {
        std::vector<Row> rows;
        for (int i = from; i <= to; ++i)
            rows.push_back(metric == "temp" ? Row{10'000 + i * 10, "temp", 20.5 + i}
                                            : Row{10'000 + i * 10, "rssi", double(-60 - i)});
        return rows;
    };
    const auto query = [&](std::string_view target) -> std::vector<Row> {
        auto res = c.request(get(target));
        if (!res || res->result_int() != 200)
            return {};
        auto rows = sample_rows(*res);
        return rows ? *rows : std::vector<Row>{};
    };

    QCOMPARE(query("/v1/devices/query-1/samples?metric=temp"), expect("temp", 0, 9));
    QCOMPARE(query("/v1/devices/query-1/samples?metric=temp&from=10020&to=10060"), expect("temp", 2, 6));
    QCOMPARE(query("/v1/devices/query-1/samples?metric=rssi&from=10025"), expect("rssi", 3, 9));
    QCOMPARE(query("/v1/devices/query-1/samples?metric=rssi&to=10030&limit=2"), expect("rssi", 0, 1));
    QCOMPARE(query("/v1/devices/query-1/samples?metric=temp&limit=3"), expect("temp", 0, 2));

    // Both metrics: in time order, every reading once.
    const auto all = query("/v1/devices/query-1/samples");
    QCOMPARE(all.size(), std::size_t(20));
    QVERIFY(std::is_sorted(all.begin(), all.end(), [](const Row& a, const Row& b) { return a.ts < b.ts; }));
    QCOMPARE(query("/v1/devices/query-1/samples?from=10090&to=10090").size(), std::size_t(2));

    // Unknown device or metric: an empty array, not an error.
    auto res = c.request(get("/v1/devices/nobody/samples"));
    QVERIFY(res);
    QCOMPARE(res->result_int(), 200);
    QCOMPARE(res->body(), std::string("[]"));
    res = c.request(get("/v1/devices/query-1/samples?metric=humidity"));
    QVERIFY(res);
    QCOMPARE(res->result_int(), 200);
    QCOMPARE(res->body(), std::string("[]"));
}

void TestHttp::metricsAndHealth()
{
    HttpClient c;
    QVERIFY(c.connect(port_));
    auto res = c.request(get("/healthz"));
    QVERIFY(res);
    QCOMPARE(res->result_int(), 200);
    QVERIFY(str((*res)[bhttp::field::content_type]).starts_with("application/json"));
    const json::value health = parse_json(*res);
    QVERIFY2(health.is_object(), res->body().c_str());
    QCOMPARE(health.at("status"), json::value("ok"));

    // /metrics reports the latest snapshot; give the sampler one interval to see this connection.
    QTest::qWait(250);
    res = c.request(get("/metrics"));
    QVERIFY(res);
    QCOMPARE(res->result_int(), 200);
    QVERIFY(str((*res)[bhttp::field::content_type]).starts_with("text/plain"));
    std::map<std::string, double> values;
    std::istringstream lines(res->body());
    for (std::string line; std::getline(lines, line);) {
        if (line.empty() || line.front() == '#')
            continue;
        QVERIFY2(line.starts_with("fleetscope_") || line.starts_with("process_"), line.c_str());
        const auto space = line.rfind(' ');
        QVERIFY2(space != std::string::npos, line.c_str());
        values[line.substr(0, space)] = std::stod(line.substr(space + 1));
    }
    QVERIFY(values.contains("fleetscope_connections_open"));
    QVERIFY(values["fleetscope_connections_open"] >= 1);
    QVERIFY(values.contains(R"(fleetscope_responses_total{class="2xx"})"));
    QVERIFY(values[R"(fleetscope_responses_total{class="2xx"})"] >= 1);
    QVERIFY(values.contains(R"(fleetscope_responses_total{class="4xx"})"));
    QVERIFY(values.contains("fleetscope_samples_committed_total"));
}

void TestHttp::gracefulStopLosesNothing()
{
    QTemporaryDir dir;
    Settings s = base_settings(dir);
    auto g = start_gateway(s);
    const auto port = g->port();

    constexpr int kClients = 20;
    std::vector<PostLog> logs(kClients);
    const std::atomic<bool> never{false};
    std::vector<std::thread> threads;
    std::atomic<int> posting{0};
    for (int t = 0; t < kClients; ++t) {
        threads.emplace_back([&, t] {
            PostLog& log = logs[std::size_t(t)];
            log.device = "stop-" + std::to_string(t);
            HttpClient c;
            if (!c.connect(port)) {
                log.unexpected.push_back("connect: " + c.error().message());
                return;
            }
            posting.fetch_add(1);
            // Posts until the gateway closes the connection; a closed connection is the only other ending.
            post_back_to_back(c, log, 0, never);
        });
    }
    const auto t0 = steady_clock::now();
    while (posting.load() < kClients && elapsed_ms(t0) < 5000)
        QTest::qWait(10);
    QTest::qWait(500);
    const auto stop0 = steady_clock::now();
    g->stop();
    qInfo("Gateway::stop() took %lld ms with %d clients posting", static_cast<long long>(elapsed_ms(stop0)),
          kClients);
    for (auto& t : threads)
        t.join();

    std::set<std::pair<std::string, std::int64_t>> acked;
    for (int t = 0; t < kClients; ++t) {
        const auto& log = logs[std::size_t(t)];
        QVERIFY2(log.unexpected.empty(), first(log.unexpected));
        QVERIFY2(!log.acked.empty(), "a client had no answer before the stop");
        for (auto ts : log.acked)
            acked.emplace(log.device, ts);
    }
    const auto rows = read_readings(s.db_path);
    const std::set<std::pair<std::string, std::int64_t>> stored(rows.begin(), rows.end());
    qInfo("%zu samples acknowledged, %zu stored", acked.size(), stored.size());
    QCOMPARE(rows.size(), stored.size());
    // A graceful stop finishes every request it started, so stored and acknowledged are the same set.
    QCOMPARE(stored, acked);
}

void TestHttp::secondGatewayOnSamePortFails()
{
    QTemporaryDir dir;
    Settings s = base_settings(dir);
    s.listen = "127.0.0.1:" + std::to_string(port_);
    s.db_path = dir.filePath(QStringLiteral("second.db")).toStdString();
    Gateway second(s);
    try {
        second.start();
        QFAIL("a second gateway started on a port already in use");
    } catch (const std::exception& e) {
        const QString message = QString::fromUtf8(e.what());
        QVERIFY2(message.contains(QString::fromStdString(s.listen)), qPrintable(message));
    }
    QVERIFY(!second.running());
    // The first gateway is unaffected.
    HttpClient c;
    QVERIFY(c.connect(port_));
    auto res = c.request(get("/healthz"));
    QVERIFY(res);
    QCOMPARE(res->result_int(), 200);
}

void TestHttp::expectContinueGetsInterimResponse()
{
    // curl sends larger bodies only after "100 Continue"; without it the client stalls for a second.
    HttpClient device;
    QVERIFY(device.connect(port_));
    const std::string body = sample_json("continue-1", 42, 1);
    QVERIFY(device.send("POST /v1/telemetry HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                        "Expect: 100-continue\r\nContent-Length: " +
                        std::to_string(body.size()) + "\r\n\r\n"));
    auto interim = device.read(milliseconds(500));
    QVERIFY2(interim, "no interim response within 500 ms");
    QCOMPARE(interim->result_int(), 100);
    QVERIFY(device.send(body));
    auto res = device.read();
    QVERIFY(res);
    QCOMPARE(res->result_int(), 204);
}

QTEST_GUILESS_MAIN(TestHttp)
#include "test_http.moc"
