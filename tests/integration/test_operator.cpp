// SPDX-License-Identifier: GPL-3.0-or-later
// Operator access over real sockets (issue 15): with access control on, a peer off loopback needs an operator
// token to read devices, samples and alerts and to acknowledge alerts; loopback peers (all of 127.0.0.0/8,
// and IPv4 loopback mapped into IPv6 on a dual-stack listener) need none. The remote peer is real: the test
// moves into a network namespace of its own where 192.0.2.1 sits on the loopback interface
// (private_network.hpp), so the gateway sees a peer address outside 127.0.0.0/8 while no packet leaves the
// process's sandbox. Without root, the remote cases are skipped with that reason; the local ones still run.
#include "core/auth/token_cli.hpp"
#include "core/gateway.hpp"
#include "integration/private_network.hpp"
#include "support/http_client.hpp"

#include <QTemporaryDir>
#include <QTest>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <fstream>
#include <memory>
#include <sstream>

using namespace fleetscope;
using namespace fleetscope::testing;
namespace json = boost::json;

namespace {

constexpr const char* kLocal = "127.0.0.1";
constexpr const char* kOtherLoopback = "127.0.0.2";

/// The token `fleetscope-gateway <token|operator> add` prints, issued into `file` for `name`; empty on
/// failure, with the command's stderr in `why`.
std::string issue(auth::TokenFile kind, const std::string& file, const std::string& name, std::string& why)
{
    const bool op = kind == auth::TokenFile::operators;
    const std::string file_flag = op ? "--operator-token-file" : "--token-file";
    const std::string name_flag = op ? "--name" : "--device";
    const char* argv[] = {op ? "operator" : "token", "add",       file_flag.c_str(), file.c_str(),
                          name_flag.c_str(),         name.c_str()};
    std::ostringstream out, err;
    const int code = auth::run_token_command(kind, 6, argv, out, err);
    why = err.str();
    std::string token = out.str();
    while (!token.empty() && token.back() == '\n')
        token.pop_back();
    return code == 0 ? token : std::string();
}

std::string error_of(const Response& r)
{
    boost::system::error_code ec;
    const json::value v = json::parse(r.body(), ec);
    if (ec || !v.is_object() || !v.as_object().contains("error") || !v.at("error").is_string())
        return {};
    return std::string(v.at("error").as_string());
}

} // namespace

class TestOperator : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void cleanupTestCase();

    void operatorRule_data();
    void operatorRule();
    void openEndpointsStayOpen();
    void operatorTokenWritesNothing();
    void withoutOperatorFileRemoteIs403();
    void operatorFileAloneTurnsItOn();
    void accessControlOffServesEveryone();
    void dualStackMappedLoopbackIsLocal();
    void badOperatorFileStopsStart();

private:
    Settings settings(const char* db) const;
    std::unique_ptr<Gateway> start(Settings s);
    /// One request on a fresh connection from `from` (a loopback address, or kRemoteAddress) to the gateway.
    std::optional<Response> ask(std::uint16_t port, const std::string& from, const std::string& raw,
                                const std::string& host = {});
    bool have_remote(); // QSKIPs the calling test when the private network is not there

    QTemporaryDir dir_;
    std::string network_; // why the private network is missing; empty when it is there
    std::string device_file_, operator_file_;
    std::string device_token_, operator_token_;
    std::unique_ptr<Gateway> both_; // device and operator tokens, listening on every address
};

Settings TestOperator::settings(const char* db) const
{
    Settings s;
    s.listen = test_listen_address(network_);
    s.db_path = dir_.filePath(QString::fromLatin1(db)).toStdString();
    s.workers = 1;
    s.stack_cache_per_worker = 8;
    s.alert_rules = dir_.filePath(QStringLiteral("no-rules.json")).toStdString(); // absent: no rules
    return s;
}

std::unique_ptr<Gateway> TestOperator::start(Settings s)
{
    auto g = std::make_unique<Gateway>(std::move(s));
    g->start();
    return g;
}

std::optional<Response> TestOperator::ask(std::uint16_t port, const std::string& from, const std::string& raw,
                                          const std::string& host)
{
    HttpClient c;
    // A remote client connects to the remote address; a loopback one to 127.0.0.1, from its own source.
    const std::string to = !host.empty()            ? host
                           : from == kRemoteAddress ? std::string(kRemoteAddress)
                                                    : kLocal;
    if (!c.connect(to, port, from))
        return std::nullopt;
    return c.request(raw);
}

bool TestOperator::have_remote()
{
    return network_.empty();
}

void TestOperator::initTestCase()
{
    // Before any gateway thread starts, so that every one of them lives in the namespace.
    network_ = enter_private_network();
    if (!network_.empty())
        qWarning("remote-peer cases will be skipped: %s", network_.c_str());
    QVERIFY(dir_.isValid());
    device_file_ = dir_.filePath(QStringLiteral("devices.tokens")).toStdString();
    operator_file_ = dir_.filePath(QStringLiteral("operators.tokens")).toStdString();
    std::string why;
    device_token_ = issue(auth::TokenFile::devices, device_file_, "pump-1", why);
    QVERIFY2(!device_token_.empty(), why.c_str());
    operator_token_ = issue(auth::TokenFile::operators, operator_file_, "alice", why);
    QVERIFY2(operator_token_.size() == 64, why.c_str());
    QVERIFY2(why.find("operator 'alice'") != std::string::npos, why.c_str());

    Settings s = settings("both.db");
    s.token_file = device_file_;
    s.operator_token_file = operator_file_;
    both_ = start(s);
    // One stored device, so the reads have something to show.
    const auto posted = ask(both_->port(), kLocal,
                            post_telemetry(sample_json("pump-1", 1000, 1.5), bearer_header(device_token_)));
    QVERIFY(posted);
    QCOMPARE(posted->result_int(), 204);
}

void TestOperator::cleanupTestCase()
{
    if (both_)
        both_->stop();
}

void TestOperator::operatorRule_data()
{
    QTest::addColumn<QString>("from");
    QTest::addColumn<QString>("request");
    QTest::addColumn<QString>("credential"); // none, basic, device, wrong, operator
    QTest::addColumn<int>("status");
    QTest::addColumn<QString>("fragment"); // in the error of a refusal

    struct Route {
        const char* name;
        int allowed; // the answer once the request passes the rule
    };
    // The acknowledgement names an alert that does not exist: 404 shows the request got past the rule.
    const Route routes[] = {{"GET /v1/devices", 200},
                            {"GET /v1/devices/pump-1/samples", 200},
                            {"GET /v1/alerts", 200},
                            {"POST /v1/alerts/7/ack", 404}};
    for (const Route& r : routes) {
        for (const char* from : {kLocal, kOtherLoopback})
            QTest::addRow("%s from %s, no token", r.name, from)
                << from << r.name << "none" << r.allowed << "";
        QTest::addRow("%s from %s, device token is ignored locally", r.name, kLocal)
            << kLocal << r.name << "device" << r.allowed << "";
        QTest::addRow("%s remote, no token", r.name)
            << kRemoteAddress << r.name << "none" << 401 << "operator token required";
        QTest::addRow("%s remote, Basic", r.name)
            << kRemoteAddress << r.name << "basic" << 401 << "malformed Authorization field";
        QTest::addRow("%s remote, device token", r.name)
            << kRemoteAddress << r.name << "device" << 401 << "not an operator token";
        QTest::addRow("%s remote, wrong token", r.name)
            << kRemoteAddress << r.name << "wrong" << 401 << "not an operator token";
        QTest::addRow("%s remote, operator token", r.name)
            << kRemoteAddress << r.name << "operator" << r.allowed << "";
    }
}

void TestOperator::operatorRule()
{
    QFETCH(QString, from);
    QFETCH(QString, request);
    QFETCH(QString, credential);
    QFETCH(int, status);
    QFETCH(QString, fragment);
    if (from == QLatin1String(kRemoteAddress) && !have_remote())
        QSKIP(network_.c_str());

    std::string header;
    if (credential == QLatin1String("basic"))
        header = "Authorization: Basic YWxpY2U6c2VjcmV0\r\n";
    else if (credential == QLatin1String("device"))
        header = bearer_header(device_token_);
    else if (credential == QLatin1String("wrong"))
        header = bearer_header(std::string(64, 'a'));
    else if (credential == QLatin1String("operator"))
        header = bearer_header(operator_token_);
    const auto space = request.indexOf(' ');
    const std::string method = request.left(space).toStdString();
    const std::string target = request.mid(space + 1).toStdString();
    const std::string raw =
        method == "GET"
            ? get(target, header)
            : "POST " + target + " HTTP/1.1\r\nHost: gw\r\nContent-Length: 0\r\n" + header + "\r\n";
    const auto res = ask(both_->port(), from.toStdString(), raw);
    QVERIFY2(res, "no answer");
    QCOMPARE(res->result_int(), status);
    if (status == 401) {
        QVERIFY(res->find(bhttp::field::www_authenticate) != res->end());
        QVERIFY2(error_of(*res).find(fragment.toStdString()) != std::string::npos, res->body().c_str());
        QVERIFY2(error_of(*res).find("fleetscope-gateway operator add") != std::string::npos,
                 res->body().c_str());
    } else if (status == 200) {
        QVERIFY2(res->body().find("\"pump-1\"") != std::string::npos ||
                     !request.endsWith(QLatin1String("devices")),
                 res->body().c_str());
        QVERIFY2(res->body().find("\"ts\":1000") != std::string::npos ||
                     !request.endsWith(QLatin1String("samples")),
                 res->body().c_str());
    }
}

void TestOperator::openEndpointsStayOpen()
{
    if (!have_remote())
        QSKIP(network_.c_str());
    for (const char* target : {"/healthz", "/metrics", "/v1/openapi.json"}) {
        const auto res = ask(both_->port(), kRemoteAddress, get(target));
        QVERIFY2(res, target);
        QVERIFY2(res->result_int() == 200, target);
    }
}

void TestOperator::operatorTokenWritesNothing()
{
    if (!have_remote())
        QSKIP(network_.c_str());
    // An operator token is no device token: telemetry still needs the device's own.
    const auto res = ask(both_->port(), kRemoteAddress,
                         post_telemetry(sample_json("alice", 2000, 1), bearer_header(operator_token_)));
    QVERIFY(res);
    QCOMPARE(res->result_int(), 401);
    const auto devices = ask(both_->port(), kLocal, get("/v1/devices"));
    QVERIFY(devices);
    QVERIFY2(devices->body().find("alice") == std::string::npos, devices->body().c_str());
}

void TestOperator::withoutOperatorFileRemoteIs403()
{
    if (!have_remote())
        QSKIP(network_.c_str());
    Settings s = settings("devices-only.db");
    s.token_file = device_file_;
    auto g = start(s);
    for (const char* target : {"/v1/devices", "/v1/alerts"}) {
        auto res = ask(g->port(), kRemoteAddress, get(target, bearer_header(operator_token_)));
        QVERIFY(res);
        QCOMPARE(res->result_int(), 403);
        QVERIFY2(error_of(*res).find("operator-token-file is empty") != std::string::npos,
                 res->body().c_str());
        res = ask(g->port(), kLocal, get(target));
        QVERIFY(res);
        QCOMPARE(res->result_int(), 200);
    }
    g->stop();
}

void TestOperator::operatorFileAloneTurnsItOn()
{
    if (!have_remote())
        QSKIP(network_.c_str());
    Settings s = settings("operators-only.db");
    s.operator_token_file = operator_file_;
    auto g = start(s);
    auto res = ask(g->port(), kRemoteAddress, get("/v1/devices"));
    QVERIFY(res);
    QCOMPARE(res->result_int(), 401);
    res = ask(g->port(), kRemoteAddress, get("/v1/devices", bearer_header(operator_token_)));
    QVERIFY(res);
    QCOMPARE(res->result_int(), 200);
    // Device tokens are off: devices post without one, from anywhere.
    res = ask(g->port(), kRemoteAddress, post_telemetry(sample_json("pump-9", 3000, 2)));
    QVERIFY(res);
    QCOMPARE(res->result_int(), 204);
    g->stop();
}

void TestOperator::accessControlOffServesEveryone()
{
    if (!have_remote())
        QSKIP(network_.c_str());
    auto g = start(settings("open.db"));
    for (const char* target : {"/v1/devices", "/v1/alerts"}) {
        const auto res = ask(g->port(), kRemoteAddress, get(target));
        QVERIFY(res);
        QCOMPARE(res->result_int(), 200);
    }
    g->stop();
}

void TestOperator::dualStackMappedLoopbackIsLocal()
{
    if (!have_remote())
        QSKIP(network_.c_str());
    Settings s = settings("dual.db");
    s.listen = "[::]:0"; // IPv4 peers arrive as ::ffff:a.b.c.d
    s.operator_token_file = operator_file_;
    std::unique_ptr<Gateway> g;
    try {
        g = start(s);
    } catch (const std::exception& e) {
        QSKIP((std::string("no dual-stack listener here: ") + e.what()).c_str());
    }
    auto res = ask(g->port(), kLocal, get("/v1/alerts"));
    QVERIFY(res);
    QCOMPARE(res->result_int(), 200);
    res = ask(g->port(), kRemoteAddress, get("/v1/alerts"));
    QVERIFY(res);
    QCOMPARE(res->result_int(), 401);
    res = ask(g->port(), "::1", get("/v1/alerts"), "::1");
    QVERIFY(res);
    QCOMPARE(res->result_int(), 200);
    g->stop();
}

void TestOperator::badOperatorFileStopsStart()
{
    const std::string path = dir_.filePath(QStringLiteral("bad-operators.tokens")).toStdString();
    std::ofstream(path) << "# operators\nalice not-a-digest\n";
    Settings s = settings("bad.db");
    s.operator_token_file = path;
    Gateway g(s);
    try {
        g.start();
        QFAIL("a bad operator token file must stop the start");
    } catch (const std::runtime_error& e) {
        const std::string what = e.what();
        QVERIFY2(what.find("operator-token-file " + path + ", line 2") != std::string::npos, e.what());
        QVERIFY2(what.find("operator 'alice'") != std::string::npos, e.what());
    }
}

QTEST_GUILESS_MAIN(TestOperator)
#include "test_operator.moc"
