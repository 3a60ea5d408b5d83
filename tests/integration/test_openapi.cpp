// SPDX-License-Identifier: GPL-3.0-or-later
// The OpenAPI description against the real gateway (issue 15). Requests go over real sockets to gateways
// with device and operator tokens, an alert rule and a small database quota, so that every operation answers
// both its successes and its errors: 400, 401, 403 (from a peer off loopback, in a network namespace of the
// test's own when it runs as root), 404, 405, 408, 411, 413, 415, 431 and 503. Each exchange (status,
// headers, body) is written to a file, and openapi_check.py validates it against docs/openapi.json with
// jsonschema (Debian's python3-jsonschema): no schema checking of our own. GET /v1/openapi.json must serve
// that very file.
#include "core/auth/tokens.hpp"
#include "core/gateway.hpp"
#include "integration/private_network.hpp"
#include "support/http_client.hpp"

#include <QProcess>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <fstream>
#include <memory>
#include <sqlite3.h>
#include <sstream>
#include <sys/socket.h>
#include <thread>

using namespace fleetscope;
using namespace fleetscope::testing;
namespace json = boost::json;

namespace {

std::string read_file(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

/// A Python 3 with jsonschema: Debian's first (python3-jsonschema), then whichever python3 is on PATH.
QString python_with_jsonschema()
{
    QStringList candidates{QStringLiteral("/usr/bin/python3")};
    if (const QString on_path = QStandardPaths::findExecutable(QStringLiteral("python3")); !on_path.isEmpty())
        candidates << on_path;
    for (const QString& python : candidates) {
        QProcess p;
        p.start(python, {QStringLiteral("-c"), QStringLiteral("import jsonschema")});
        if (p.waitForFinished(10000) && p.exitStatus() == QProcess::NormalExit && p.exitCode() == 0)
            return python;
    }
    return {};
}

} // namespace

class TestOpenApi : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void cleanupTestCase();
    void servesTheRepositoryFile();
    void telemetry();
    void lineProtocol();
    void reads();
    void alerts();
    void eventStream();
    void operations();
    void transportErrors();
    void operatorRefusals();
    void storeFull();
    void exchangesValidate();

private:
    Settings settings(const char* db) const;
    /// Sends `raw` on a fresh connection (from `from`), records the exchange, and returns the answer.
    std::optional<Response> exchange(const std::string& raw, const std::string& from = "127.0.0.1",
                                     std::uint16_t port = 0);
    void record(const std::string& raw, const Response& res);

    QTemporaryDir dir_;
    std::string network_;
    std::string device_token_, operator_token_;
    std::unique_ptr<Gateway> gateway_;
    json::array exchanges_;
};

Settings TestOpenApi::settings(const char* db) const
{
    Settings s;
    s.listen = test_listen_address(network_);
    s.db_path = dir_.filePath(QString::fromLatin1(db)).toStdString();
    s.workers = 1;
    s.stack_cache_per_worker = 8;
    s.header_timeout = Millis(300);
    s.timeline_interval = Millis(0);
    s.token_file = dir_.filePath(QStringLiteral("devices")).toStdString();
    s.alert_rules = dir_.filePath(QStringLiteral("rules.json")).toStdString();
    return s;
}

void TestOpenApi::initTestCase()
{
    network_ = enter_private_network();
    if (!network_.empty())
        qWarning("the remote-peer refusals (401 and 403 from operator endpoints) are skipped: %s",
                 network_.c_str());
    QVERIFY(dir_.isValid());
    device_token_ = auth::add_token(dir_.filePath(QStringLiteral("devices")).toStdString(), "pump-1");
    operator_token_ = auth::add_token(dir_.filePath(QStringLiteral("operators")).toStdString(), "alice",
                                      auth::TokenFile::operators);
    std::ofstream(dir_.filePath(QStringLiteral("rules.json")).toStdString())
        << R"({"rules":[{"name":"hot","kind":"metric","severity":"critical","devices":"*","metric":"v",)"
           R"("condition":"above","threshold":80}]})";
    Settings s = settings("api.db");
    s.operator_token_file = dir_.filePath(QStringLiteral("operators")).toStdString();
    s.store_max_bytes = 4 * 1024 * 1024;
    gateway_ = std::make_unique<Gateway>(s);
    gateway_->start();
}

void TestOpenApi::cleanupTestCase()
{
    if (gateway_)
        gateway_->stop();
}

void TestOpenApi::record(const std::string& raw, const Response& res)
{
    json::object ex;
    const auto line_end = raw.find("\r\n");
    const std::string line = raw.substr(0, line_end);
    const auto sp1 = line.find(' ');
    const auto sp2 = line.find(' ', sp1 + 1);
    ex["method"] = line.substr(0, sp1);
    ex["target"] = line.substr(sp1 + 1, sp2 - sp1 - 1);
    ex["status"] = res.result_int();
    json::object headers;
    for (const auto& field : res) {
        std::string name = str(field.name_string());
        for (char& ch : name)
            ch = char(std::tolower(static_cast<unsigned char>(ch)));
        headers[name] = str(field.value());
    }
    ex["headers"] = std::move(headers);
    ex["body"] = res.body();
    if (const auto body_at = raw.find("\r\n\r\n"); body_at != std::string::npos)
        ex["request_body"] = raw.substr(body_at + 4);
    exchanges_.push_back(std::move(ex));
}

std::optional<Response> TestOpenApi::exchange(const std::string& raw, const std::string& from,
                                              std::uint16_t port)
{
    HttpClient c;
    const std::string to = from == kRemoteAddress ? kRemoteAddress : "127.0.0.1";
    if (!c.connect(to, port ? port : gateway_->port(), from))
        return std::nullopt;
    auto res = c.request(raw);
    if (res)
        record(raw, *res);
    return res;
}

void TestOpenApi::servesTheRepositoryFile()
{
    const auto res = exchange(get("/v1/openapi.json"));
    QVERIFY(res);
    QCOMPARE(res->result_int(), 200);
    QVERIFY(res->body() == read_file(FLEETSCOPE_SOURCE_DIR "/docs/openapi.json"));
}

void TestOpenApi::telemetry()
{
    const std::string auth = bearer_header(device_token_);
    const std::string one = sample_json("pump-1", 1000, 21.5);
    const std::string many =
        "[" + sample_json("pump-1", 1001, 1) + "," + sample_json("pump-1", 1002, 90) + "]";
    const struct {
        std::string raw;
        int status;
    } cases[] = {
        {post_telemetry(one, auth), 204},
        {post_telemetry(many, auth), 204}, // 90 raises the "hot" alert
        {post_telemetry(R"({"device":"pump-1","metrics":{"v":1},"ts":-5})", auth), 400},
        {post_telemetry("{\"device\":", auth), 400},
        {post_telemetry("[]", auth), 400},
        {post_telemetry(one), 401},
        {post_telemetry(sample_json("pump-2", 1, 1), auth), 401},
        {post_telemetry(one, "Authorization: Basic eDp5\r\n"), 401},
        {get("/v1/telemetry"), 405},
        {"POST /v1/telemetry HTTP/1.1\r\nHost: gw\r\n" + auth + "\r\n", 411},
        {"POST /v1/telemetry HTTP/1.1\r\nHost: gw\r\nContent-Length: 99999999\r\n" + auth + "\r\n", 413},
        {"POST /v1/telemetry HTTP/1.1\r\nHost: gw\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n" +
             auth + "\r\n{}",
         415},
    };
    for (const auto& c : cases) {
        const auto res = exchange(c.raw);
        QVERIFY2(res, c.raw.c_str());
        QVERIFY2(res->result_int() == c.status, qPrintable(QString::number(res->result_int()) + " for " +
                                                           QString::fromStdString(c.raw.substr(0, 60))));
    }
}

void TestOpenApi::lineProtocol()
{
    const std::string token = device_token_;
    auto write = [](const std::string& target, const std::string& body, const std::string& headers) {
        return "POST " + target + " HTTP/1.1\r\nHost: gw\r\nContent-Type: text/plain\r\nContent-Length: " +
               std::to_string(body.size()) + "\r\n" + headers + "\r\n" + body;
    };
    const std::string line = "env,device=pump-1 v=21.5 1700000000";
    const struct {
        std::string raw;
        int status;
    } cases[] = {
        {write("/write?db=fleet&precision=s&u=x&p=" + token, line, ""), 204},
        {write("/api/v2/write?org=lab&bucket=fleet&precision=s", line,
               "Authorization: Token " + token + "\r\n"),
         204},
        {write("/write?precision=s", "env,device=pump-1 v=oops", "Authorization: Token " + token + "\r\n"),
         400},
        {write("/api/v2/write?precision=week", line, "Authorization: Token " + token + "\r\n"), 400},
        {write("/write", line, ""), 401},
        {write("/api/v2/write", "env,device=pump-2 v=1", "Authorization: Token " + token + "\r\n"), 401},
        {get("/api/v2/write"), 405},
        {"POST /write HTTP/1.1\r\nHost: gw\r\nContent-Length: 99999999\r\nAuthorization: Token " + token +
             "\r\n\r\n",
         413},
    };
    for (const auto& c : cases) {
        const auto res = exchange(c.raw);
        QVERIFY2(res, c.raw.c_str());
        QVERIFY2(res->result_int() == c.status, qPrintable(QString::number(res->result_int()) + " for " +
                                                           QString::fromStdString(c.raw.substr(0, 60))));
    }
}

void TestOpenApi::reads()
{
    const struct {
        std::string target;
        int status;
    } cases[] = {
        {"/v1/devices", 200},
        {"/v1/devices/pump-1/samples", 200},
        {"/v1/devices/pump-1/samples?metric=v&from=1000&to=1001&limit=10", 200},
        {"/v1/devices/nobody/samples", 200},
        {"/v1/devices/pump-1/samples?limit=0", 400},
        {"/v1/devices/pump-1/samples?colour=red", 400},
        {"/v1/devices/pump-1/samples?from=yesterday", 400},
        {"/v1/devices/a%20b/samples", 400},
        {"/v1/devices/a/b/samples", 404},
    };
    for (const auto& c : cases) {
        const auto res = exchange(get(c.target));
        QVERIFY2(res, c.target.c_str());
        QVERIFY2(res->result_int() == c.status,
                 qPrintable(QString::number(res->result_int()) + " for " + QString::fromStdString(c.target)));
    }
    const auto res = exchange("DELETE /v1/devices HTTP/1.1\r\nHost: gw\r\n\r\n");
    QVERIFY(res);
    QCOMPARE(res->result_int(), 405);
}

void TestOpenApi::alerts()
{
    // The "hot" alert raised as its sample committed; find its id.
    std::optional<Response> list;
    std::int64_t id = 0;
    for (int i = 0; i < 100 && id == 0; ++i) {
        list = exchange(get("/v1/alerts"));
        QVERIFY(list);
        const auto at = list->body().find("\"id\":");
        if (at != std::string::npos)
            id = std::stoll(list->body().substr(at + 5));
        else
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    QVERIFY2(id > 0, list->body().c_str());
    const std::string ack = "/v1/alerts/" + std::to_string(id) + "/ack";
    const auto post = [](const std::string& target) {
        return "POST " + target + " HTTP/1.1\r\nHost: gw\r\nContent-Length: 0\r\n\r\n";
    };
    auto res = exchange(post(ack));
    QVERIFY(res);
    QCOMPARE(res->result_int(), 204);
    res = exchange(get("/v1/alerts")); // now with acked_at set
    QVERIFY(res);
    QVERIFY2(res->body().find("\"acked_at\":null") == std::string::npos, res->body().c_str());
    for (const auto& [target, status] :
         std::vector<std::pair<std::string, int>>{{"/v1/alerts/999/ack", 404}, {"/v1/alerts/abc/ack", 400}}) {
        res = exchange(post(target));
        QVERIFY(res);
        QCOMPARE(res->result_int(), status);
    }
    res = exchange(get(ack));
    QVERIFY(res);
    QCOMPARE(res->result_int(), 405);
    res = exchange(post("/v1/alerts"));
    QVERIFY(res);
    QCOMPARE(res->result_int(), 405);
}

void TestOpenApi::eventStream()
{
    // The body never ends while the gateway runs: the exchange recorded is the head and the first event, as
    // Beast's parser has them from a real connection.
    const std::string raw = get("/v1/stream");
    asio::io_context io;
    asio::ip::tcp::socket socket(io);
    socket.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), gateway_->port()));
    timeval tv{10, 0};
    ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    asio::write(socket, asio::buffer(raw));
    bhttp::response_parser<bhttp::string_body> parser;
    parser.eager(true);
    boost::beast::flat_buffer buffer;
    error_code ec;
    while (!ec && parser.get().body().find("\n\n") == std::string::npos)
        bhttp::read_some(socket, buffer, parser, ec);
    QVERIFY2(!ec, ec.message().c_str());
    QCOMPARE(parser.get().result_int(), 200);
    QVERIFY2(parser.get().body().starts_with("event: hello\ndata: {"), parser.get().body().c_str());
    record(raw, parser.get());
}

void TestOpenApi::operations()
{
    for (const char* target : {"/healthz", "/metrics"}) {
        auto res = exchange(get(target));
        QVERIFY(res);
        QCOMPARE(res->result_int(), 200);
        res = exchange(std::string("POST ") + target + " HTTP/1.1\r\nHost: gw\r\nContent-Length: 0\r\n\r\n");
        QVERIFY(res);
        QCOMPARE(res->result_int(), 405);
    }
    const auto res = exchange(get("/v2/nothing"));
    QVERIFY(res);
    QCOMPARE(res->result_int(), 404);
}

void TestOpenApi::transportErrors()
{
    // Malformed HTTP, a header over max-header-bytes, a header never finished, a body on a read route over
    // max-body-bytes, and a Transfer-Encoding the gateway does not decode: each a JSON error.
    auto res = exchange("GET /v1/devices HTTP/1.1\r\nHost gw\r\n\r\n");
    QVERIFY(res);
    QCOMPARE(res->result_int(), 400);
    res = exchange(get("/healthz", "X-Padding: " + std::string(9000, 'x') + "\r\n"));
    QVERIFY(res);
    QCOMPARE(res->result_int(), 431);
    res = exchange(get("/metrics", "Content-Length: 99999999\r\n"));
    QVERIFY(res);
    QCOMPARE(res->result_int(), 413);
    res = exchange("POST /v1/telemetry HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: gzip\r\n" +
                   bearer_header(device_token_) + "\r\n");
    QVERIFY(res);
    QCOMPARE(res->result_int(), 400);

    HttpClient slow;
    QVERIFY(slow.connect(gateway_->port()));
    const std::string partial = "GET /v1/alerts HTTP/1.1\r\nHost: gw\r\n";
    QVERIFY(slow.send(partial));
    const auto timed_out = slow.read(); // header-timeout is 300 ms
    QVERIFY(timed_out);
    QCOMPARE(timed_out->result_int(), 408);
    record(partial, *timed_out);
}

void TestOpenApi::operatorRefusals()
{
    if (!network_.empty())
        QSKIP(network_.c_str());
    auto res = exchange(get("/v1/devices"), kRemoteAddress);
    QVERIFY(res);
    QCOMPARE(res->result_int(), 401);
    res = exchange(get("/v1/devices/pump-1/samples", bearer_header(device_token_)), kRemoteAddress);
    QVERIFY(res);
    QCOMPARE(res->result_int(), 401);
    res = exchange("POST /v1/alerts/1/ack HTTP/1.1\r\nHost: gw\r\nAuthorization: Basic "
                   "eDp5\r\nContent-Length: 0\r\n\r\n",
                   kRemoteAddress);
    QVERIFY(res);
    QCOMPARE(res->result_int(), 401);
    res = exchange(get("/v1/alerts", bearer_header(operator_token_)), kRemoteAddress);
    QVERIFY(res);
    QCOMPARE(res->result_int(), 200);
    res = exchange(get("/v1/stream"), kRemoteAddress);
    QVERIFY(res);
    QCOMPARE(res->result_int(), 401);

    // No operator file: remote reads are refused outright.
    Gateway devices_only(settings("devices-only.db"));
    devices_only.start();
    for (const char* target : {"/v1/devices", "/v1/alerts"}) {
        res = exchange(get(target), kRemoteAddress, devices_only.port());
        QVERIFY(res);
        QCOMPARE(res->result_int(), 403);
    }
    devices_only.stop();
}

void TestOpenApi::storeFull()
{
    // Another program fills the database past store-max-bytes: a request that needs new pages is refused
    // with 503 and Retry-After.
    sqlite3* db = nullptr;
    QCOMPARE(sqlite3_open(gateway_->db_path().c_str(), &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    QCOMPARE(sqlite3_exec(db, "CREATE TABLE ballast(b BLOB); INSERT INTO ballast VALUES (zeroblob(6000000))",
                          nullptr, nullptr, nullptr),
             SQLITE_OK);
    sqlite3_close(db);
    std::string body = "[";
    for (int i = 0; i < 1000; ++i)
        body += (i ? "," : "") + sample_json("pump-1", 100'000 + i, i);
    body += "]";
    const auto res = exchange(post_telemetry(body, bearer_header(device_token_)));
    QVERIFY(res);
    QCOMPARE(res->result_int(), 503);
}

void TestOpenApi::exchangesValidate()
{
    const QString python = python_with_jsonschema();
    if (python.isEmpty())
        QSKIP("no python3 with jsonschema (Debian package python3-jsonschema, listed in "
              "packaging/setup-debian.sh): the exchanges cannot be validated");
    const QString file = dir_.filePath(QStringLiteral("exchanges.json"));
    std::ofstream(file.toStdString()) << json::serialize(exchanges_);
    QProcess p;
    p.setProcessChannelMode(QProcess::MergedChannels);
    p.start(python, {QStringLiteral(FLEETSCOPE_SOURCE_DIR "/tests/integration/openapi_check.py"),
                     QStringLiteral(FLEETSCOPE_SOURCE_DIR "/docs/openapi.json"), file});
    QVERIFY(p.waitForFinished(60000));
    const QByteArray said = p.readAll();
    qInfo("%s", said.trimmed().constData());
    QVERIFY2(p.exitStatus() == QProcess::NormalExit && p.exitCode() == 0, said.constData());
}

QTEST_GUILESS_MAIN(TestOpenApi)
#include "test_openapi.moc"
