// SPDX-License-Identifier: GPL-3.0-or-later
// Access control over real loopback sockets: device tokens (401 with WWW-Authenticate and a JSON error, a
// token bound to its device, nothing stored from a refused request, a bad token file stopping the start) and
// HTTPS (a throwaway self-signed certificate made here with OpenSSL; TLS posts, keep-alive, pipelined
// records, parking, a plain client on the TLS port, handshake timeout, certificate errors at start).
#include "core/auth/tokens.hpp"
#include "core/gateway.hpp"
#include "core/sim/simulator.hpp"
#include "support/http_client.hpp"
#include "support/loopback_settings.hpp"
#include "support/store_files.hpp"
#include "support/tls_certificate.hpp"
#include "support/tls_client.hpp"

#include <QTemporaryDir>
#include <QTest>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <fstream>
#include <memory>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

using namespace fleetscope;
using namespace fleetscope::testing;
namespace json = boost::json;
using std::chrono::steady_clock;

namespace {

Settings base_settings(const QTemporaryDir& dir, const char* db)
{
    return loopback_settings(dir, db);
}

json::value parse_json(const Response& r)
{
    boost::system::error_code ec;
    json::value v = json::parse(r.body(), ec);
    return ec ? json::value() : v;
}

/// The error text of a JSON error body, or "" when the body is not one.
std::string error_of(const Response& r)
{
    const json::value v = parse_json(r);
    if (!v.is_object() || !v.as_object().contains("error") || !v.at("error").is_string())
        return {};
    return std::string(v.at("error").as_string());
}

std::string bearer(const std::string& token)
{
    return "Authorization: Bearer " + token + "\r\n";
}

std::uint64_t parked_total(const metrics::Snapshot& s)
{
    std::uint64_t n = 0;
    for (const auto& w : s.workers)
        n += w.parked;
    return n;
}

/// What start() threw, or "" when it started.
std::string start_error(const Settings& s)
{
    Gateway g(s);
    try {
        g.start();
    } catch (const std::exception& e) {
        return e.what();
    }
    g.stop();
    return {};
}

} // namespace

class TestAuth : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void cleanupTestCase();

    void noTokenIs401();
    void refused_data();
    void refused();
    void rightTokenStores();
    void readsAndProbesStayOpen();
    void tokenFileHoldsOnlyDigests();
    void badTokenFileStopsStart();

    void tlsPostKeepAliveAndTokens();
    void tlsPipelinedRecords();
    void tlsIdleConnectionParksAndResumes();
    void plainClientOnTlsPort();
    void tlsHandshakeTimeout();
    void tlsSettingsErrors_data();
    void tlsSettingsErrors();
    void simulatorOverTlsWithToken();

private:
    std::vector<std::pair<std::string, std::int64_t>> stored(const Gateway& g) const
    {
        return read_readings(g.db_path());
    }

    QTemporaryDir dir_;
    std::string token_file_;
    std::string token_a_;   // for device auth-a
    std::string token_b_;   // for device auth-b
    std::string token_sim_; // one token for the simulator's devices simtls-0 and simtls-1
    std::string cert_;
    std::string key_;
    std::unique_ptr<Gateway> plain_; // tokens on, plain HTTP
    std::unique_ptr<Gateway> tls_;   // tokens on, HTTPS, parks after 100 ms, 300 ms header timeout
};

void TestAuth::initTestCase()
{
    QVERIFY(dir_.isValid());
    token_file_ = dir_.filePath(QStringLiteral("tokens")).toStdString();
    token_a_ = auth::add_token(token_file_, "auth-a");
    token_b_ = auth::add_token(token_file_, "auth-b");
    token_sim_ = auth::generate_token();
    {
        std::ofstream out(token_file_, std::ios::app);
        for (const char* device : {"simtls-0", "simtls-1"})
            out << device << '\t' << auth::to_hex(auth::sha256(token_sim_)) << '\n';
    }
    cert_ = dir_.filePath(QStringLiteral("cert.pem")).toStdString();
    key_ = dir_.filePath(QStringLiteral("key.pem")).toStdString();
    QVERIFY(write_self_signed(cert_, key_));

    Settings s = base_settings(dir_, "plain.db");
    s.token_file = token_file_;
    plain_ = std::make_unique<Gateway>(s);
    plain_->start();
    QVERIFY(plain_->auth_enabled());
    QVERIFY(!plain_->tls_enabled());

    Settings t = base_settings(dir_, "tls.db");
    t.token_file = token_file_;
    t.tls_cert = cert_;
    t.tls_key = key_;
    t.park_after = milliseconds(100);
    t.header_timeout = milliseconds(300);
    tls_ = std::make_unique<Gateway>(t);
    tls_->start();
    QVERIFY(tls_->auth_enabled());
    QVERIFY(tls_->tls_enabled());
}

void TestAuth::cleanupTestCase()
{
    if (tls_)
        tls_->stop();
    if (plain_)
        plain_->stop();
}

void TestAuth::noTokenIs401()
{
    HttpClient c;
    QVERIFY(c.connect(plain_->port()));
    auto res = c.request(post_telemetry(sample_json("auth-a", 1, 1)));
    QVERIFY2(res, c.error().message().c_str());
    QCOMPARE(res->result_int(), 401);
    QCOMPARE(str((*res)[bhttp::field::www_authenticate]), std::string(R"(Bearer realm="fleetscope")"));
    QVERIFY(str((*res)[bhttp::field::content_type]).starts_with("application/json"));
    const std::string error = error_of(*res);
    QVERIFY2(error.find("device token required") != std::string::npos, res->body().c_str());
    QVERIFY2(error.find("Authorization: Bearer") != std::string::npos, res->body().c_str());
    // Refused before the body was read, so the connection cannot continue.
    QVERIFY(!res->keep_alive());
    QVERIFY(c.wait_closed());
    QVERIFY(stored(*plain_).empty());
}

void TestAuth::refused_data()
{
    QTest::addColumn<QByteArray>("body");
    QTest::addColumn<QByteArray>("authorization"); // the whole field line, or empty
    QTest::addColumn<QString>("mentions");

    const auto a = [](std::int64_t ts) { return QByteArray::fromStdString(sample_json("auth-a", ts, 1)); };
    const auto b = [](std::int64_t ts) { return QByteArray::fromStdString(sample_json("auth-b", ts, 1)); };
    const QByteArray token_a = QByteArray::fromStdString(bearer(token_a_));
    const QByteArray token_b = QByteArray::fromStdString(bearer(token_b_));

    QTest::addRow("wrong token") << a(10) << QByteArray(bearer(std::string(64, '0')).c_str())
                                 << "the bearer token is not valid for device 'auth-a'";
    QTest::addRow("token of a for b") << b(11) << token_a << "not valid for device 'auth-b'";
    QTest::addRow("token of b for a") << a(12) << token_b << "not valid for device 'auth-a'";
    QTest::addRow("a's token, array with one sample of b")
        << "[" + a(13) + "," + b(14) + "," + a(15) + "]" << token_a << "not valid for device 'auth-b'";
    QTest::addRow("unregistered device") << QByteArray::fromStdString(sample_json("auth-z", 16, 1)) << token_a
                                         << "not valid for device 'auth-z'";
    QTest::addRow("digest instead of token")
        << a(17) << QByteArray::fromStdString(bearer(auth::to_hex(auth::sha256(token_a_))))
        << "not valid for device 'auth-a'";
    QTest::addRow("token with a suffix")
        << a(18) << QByteArray::fromStdString(bearer(token_a_ + "0")) << "not valid for device 'auth-a'";
    QTest::addRow("basic scheme") << a(19) << QByteArray("Authorization: Basic YTpi\r\n")
                                  << "malformed Authorization field: expected the Bearer scheme";
    QTest::addRow("bearer without token")
        << a(20) << QByteArray("Authorization: Bearer \r\n") << "expected the Bearer scheme";
    QTest::addRow("two words") << a(21) << QByteArray::fromStdString(bearer(token_a_ + " x"))
                               << "expected the Bearer scheme";
}

void TestAuth::refused()
{
    QFETCH(QByteArray, body);
    QFETCH(QByteArray, authorization);
    QFETCH(QString, mentions);
    HttpClient c;
    QVERIFY(c.connect(plain_->port()));
    auto res = c.request(post_telemetry(body.toStdString(), authorization.toStdString()));
    QVERIFY2(res, c.error().message().c_str());
    QCOMPARE(res->result_int(), 401);
    QCOMPARE(str((*res)[bhttp::field::www_authenticate]),
             std::string(R"(Bearer realm="fleetscope", error="invalid_token")"));
    const std::string error = error_of(*res);
    QVERIFY2(QString::fromStdString(error).contains(mentions), res->body().c_str());
    QVERIFY(stored(*plain_).empty()); // nothing from a refused request, nor from earlier rows
}

void TestAuth::rightTokenStores()
{
    HttpClient c;
    QVERIFY(c.connect(plain_->port()));
    for (int i = 0; i < 5; ++i) {
        auto res = c.request(post_telemetry(sample_json("auth-a", 100 + i, i), bearer(token_a_)));
        QVERIFY2(res, c.error().message().c_str());
        QCOMPARE(res->result_int(), 204);
        QVERIFY(res->keep_alive());
    }
    // A refusal after the body was read keeps the connection; the next good request still stores.
    auto res = c.request(post_telemetry(sample_json("auth-b", 200, 1), bearer(token_a_)));
    QVERIFY(res);
    QCOMPARE(res->result_int(), 401);
    res = c.request(post_telemetry(
        "[" + sample_json("auth-b", 201, 1) + "," + sample_json("auth-b", 202, 2) + "]", bearer(token_b_)));
    QVERIFY(res);
    QCOMPARE(res->result_int(), 204);
    // The scheme is case-insensitive.
    res = c.request(
        post_telemetry(sample_json("auth-a", 105, 5), "authorization: bearer " + token_a_ + "\r\n"));
    QVERIFY(res);
    QCOMPARE(res->result_int(), 204);

    const std::vector<std::pair<std::string, std::int64_t>> expected = {
        {"auth-a", 100}, {"auth-a", 101}, {"auth-a", 102}, {"auth-a", 103},
        {"auth-a", 104}, {"auth-a", 105}, {"auth-b", 201}, {"auth-b", 202}};
    QCOMPARE(stored(*plain_), expected);
}

void TestAuth::readsAndProbesStayOpen()
{
    // Health and metrics are for monitoring, device reads for local clients: none needs a token on loopback.
    HttpClient c;
    QVERIFY(c.connect(plain_->port()));
    for (const char* target : {"/healthz", "/metrics", "/v1/devices", "/v1/devices/auth-a/samples"}) {
        auto res = c.request(get(target));
        QVERIFY2(res, target);
        QVERIFY2(res->result_int() == 200, target);
        QVERIFY(res->keep_alive());
    }
}

void TestAuth::tokenFileHoldsOnlyDigests()
{
    std::ifstream in(token_file_);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    QVERIFY(text.find(token_a_) == std::string::npos);
    QVERIFY(text.find(token_b_) == std::string::npos);
    QVERIFY(text.find("auth-a " + auth::to_hex(auth::sha256(token_a_))) != std::string::npos);
    QVERIFY(text.find("auth-b " + auth::to_hex(auth::sha256(token_b_))) != std::string::npos);
}

void TestAuth::badTokenFileStopsStart()
{
    const std::string path = dir_.filePath(QStringLiteral("bad-tokens")).toStdString();
    {
        std::ofstream out(path);
        out << "# devices\ndev-1 " << auth::to_hex(auth::sha256("x")) << "\ndev-2 " << token_a_.substr(0, 20)
            << "\n";
    }
    Settings s = base_settings(dir_, "bad.db");
    s.token_file = path;
    const std::string error = start_error(s);
    QVERIFY2(error.find("token-file " + path + ", line 3: device 'dev-2'") != std::string::npos,
             error.c_str());
    QVERIFY2(error.find(token_a_.substr(0, 20)) == std::string::npos, "the error echoes the file's content");

    s.token_file = path + ".absent";
    QVERIFY(start_error(s).find("cannot be opened") != std::string::npos);
}

void TestAuth::tlsPostKeepAliveAndTokens()
{
    TlsClient c(cert_);
    QVERIFY2(c.connect(tls_->port()), c.error().message().c_str());
    for (int i = 0; i < 20; ++i) {
        auto res = c.request(post_telemetry(sample_json("auth-a", 1'000 + i, i), bearer(token_a_)));
        QVERIFY2(res, c.error().message().c_str());
        QCOMPARE(res->result_int(), 204);
        QVERIFY(res->keep_alive());
    }
    auto res = c.request(post_telemetry(sample_json("auth-a", 1'100, 1)));
    QVERIFY(res);
    QCOMPARE(res->result_int(), 401);
    QVERIFY(!error_of(*res).empty());

    TlsClient reader(cert_);
    QVERIFY(reader.connect(tls_->port()));
    res = reader.request(get("/healthz"));
    QVERIFY(res);
    QCOMPARE(res->result_int(), 200);

    const auto rows = stored(*tls_);
    QCOMPARE(rows.size(), std::size_t{20});
    for (int i = 0; i < 20; ++i)
        QCOMPARE(rows[std::size_t(i)], (std::pair<std::string, std::int64_t>("auth-a", 1'000 + i)));
}

void TestAuth::tlsPipelinedRecords()
{
#ifdef TCP_CORK
    // Three requests in three TLS records, corked into one TCP segment: OpenSSL then holds the later records
    // while the gateway answers the first, where a readiness wait cannot see them.
    TlsClient c(cert_);
    QVERIFY(c.connect(tls_->port()));
    int on = 1;
    QCOMPARE(::setsockopt(c.native_handle(), IPPROTO_TCP, TCP_CORK, &on, sizeof on), 0);
    for (int i = 0; i < 3; ++i)
        QVERIFY(c.send(post_telemetry(sample_json("auth-b", 2'000 + i, i), bearer(token_b_))));
    int off = 0;
    QCOMPARE(::setsockopt(c.native_handle(), IPPROTO_TCP, TCP_CORK, &off, sizeof off), 0);
    for (int i = 0; i < 3; ++i) {
        auto res = c.read(milliseconds(2000));
        QVERIFY2(res, qPrintable(QStringLiteral("response %1: %2").arg(i).arg(c.error().message().c_str())));
        QCOMPARE(res->result_int(), 204);
    }
#else
    QSKIP("needs TCP_CORK to put several TLS records in one segment");
#endif
}

void TestAuth::tlsIdleConnectionParksAndResumes()
{
    TlsClient c(cert_);
    QVERIFY(c.connect(tls_->port()));
    auto res = c.request(post_telemetry(sample_json("auth-a", 3'000, 1), bearer(token_a_)));
    QVERIFY(res);
    QCOMPARE(res->result_int(), 204);

    // park-after is 100 ms: the connection gives its fiber back, keeping its TLS session.
    const auto t0 = steady_clock::now();
    while (parked_total(tls_->snapshot()) == 0 && steady_clock::now() - t0 < std::chrono::seconds(3))
        QTest::qWait(50);
    QVERIFY2(parked_total(tls_->snapshot()) > 0, "no TLS connection parked within 3 s");

    for (int i = 1; i <= 3; ++i) {
        res = c.request(post_telemetry(sample_json("auth-a", 3'000 + i, 1), bearer(token_a_)));
        QVERIFY2(res, c.error().message().c_str());
        QCOMPARE(res->result_int(), 204);
        QTest::qWait(250); // parks again between requests
    }
}

void TestAuth::plainClientOnTlsPort()
{
    HttpClient plain;
    QVERIFY(plain.connect(tls_->port()));
    auto res = plain.request(post_telemetry(sample_json("auth-a", 4'000, 1), bearer(token_a_)));
    QVERIFY2(res, plain.error().message().c_str());
    QCOMPARE(res->result_int(), 400);
    QVERIFY2(error_of(*res).find("this port speaks HTTPS") != std::string::npos, res->body().c_str());
    QVERIFY(plain.wait_closed());

    // Bytes that are not TLS at all.
    HttpClient garbage;
    QVERIFY(garbage.connect(tls_->port()));
    QVERIFY(garbage.send(std::string(64, '\x16')));
    QVERIFY(garbage.wait_closed());

    // The gateway keeps serving HTTPS.
    TlsClient c(cert_);
    QVERIFY(c.connect(tls_->port()));
    res = c.request(post_telemetry(sample_json("auth-a", 4'001, 1), bearer(token_a_)));
    QVERIFY(res);
    QCOMPARE(res->result_int(), 204);
    const auto rows = stored(*tls_);
    QVERIFY(std::find(rows.begin(), rows.end(), std::pair<std::string, std::int64_t>("auth-a", 4'000)) ==
            rows.end());
}

void TestAuth::tlsHandshakeTimeout()
{
    // A client that connects and never starts its handshake is cut off after header-timeout (300 ms).
    HttpClient idle;
    QVERIFY(idle.connect(tls_->port()));
    const auto t0 = steady_clock::now();
    QVERIFY(idle.wait_closed(milliseconds(3000)));
    const auto waited = std::chrono::duration_cast<milliseconds>(steady_clock::now() - t0).count();
    QVERIFY2(waited >= 250, qPrintable(QStringLiteral("closed after %1 ms").arg(waited)));
}

void TestAuth::tlsSettingsErrors_data()
{
    QTest::addColumn<QString>("cert");
    QTest::addColumn<QString>("key");
    QTest::addColumn<QString>("mentions");

    QTest::addRow("cert without key") << "cert.pem"
                                      << ""
                                      << "tls-cert is set but tls-key is not";
    QTest::addRow("key without cert") << ""
                                      << "key.pem"
                                      << "tls-key is set but tls-cert is not";
    QTest::addRow("missing cert") << "absent.pem"
                                  << "key.pem"
                                  << "tls-cert %1/absent.pem: cannot load";
    QTest::addRow("key is not a key") << "cert.pem"
                                      << "cert.pem"
                                      << "tls-key %1/cert.pem: cannot load";
    QTest::addRow("key of another certificate")
        << "cert.pem"
        << "other-key.pem"
        << "tls-key %1/other-key.pem: cannot load a PEM private key: key values mismatch";
}

void TestAuth::tlsSettingsErrors()
{
    QFETCH(QString, cert);
    QFETCH(QString, key);
    QFETCH(QString, mentions);
    const std::string other_cert = dir_.filePath(QStringLiteral("other-cert.pem")).toStdString();
    const std::string other_key = dir_.filePath(QStringLiteral("other-key.pem")).toStdString();
    QVERIFY(write_self_signed(other_cert, other_key, true));

    Settings s = base_settings(dir_, "tls-errors.db");
    s.tls_cert = cert.isEmpty() ? std::string() : dir_.filePath(cert).toStdString();
    s.tls_key = key.isEmpty() ? std::string() : dir_.filePath(key).toStdString();
    const QString error = QString::fromStdString(start_error(s));
    QVERIFY2(error.contains(mentions.contains(QLatin1String("%1")) ? mentions.arg(dir_.path()) : mentions),
             qPrintable(error));
}

void TestAuth::simulatorOverTlsWithToken()
{
    // fleetscope-sim --tls --ca cert.pem --token T: verifies the certificate and the host name, posts as its
    // devices with their (shared) token; every post is acknowledged.
    sim::Options o;
    o.target = "localhost:" + std::to_string(tls_->port());
    o.connections = 2;
    o.device_prefix = "simtls";
    o.duration = milliseconds(300);
    o.threads = 1;
    o.sources = 1;
    o.tls = true;
    o.ca_file = cert_;
    o.token = token_sim_;
    sim::Report r = sim::run(o);
    QVERIFY2(r.fatal.empty(), r.fatal.c_str());
    QCOMPARE(r.opened, std::uint64_t{2});
    QCOMPARE(r.errors.total(), std::uint64_t{0});
    QVERIFY(r.ok > 0);
    QCOMPARE(r.status.size(), std::size_t{1});
    QCOMPARE(r.status.begin()->first, 204);

    // Without the token every post is refused; with a host name the certificate does not carry, no
    // connection opens.
    o.token.clear();
    r = sim::run(o);
    QVERIFY(r.status.contains(401));
    QVERIFY(!r.status.contains(204));
    o.token = token_sim_;
    o.target = "127.0.0.1:" + std::to_string(tls_->port());
    o.connect_timeout = milliseconds(2000);
    r = sim::run(o);
    QCOMPARE(r.opened, std::uint64_t{0});
    QVERIFY(r.errors.connect_other > 0);
}

QTEST_GUILESS_MAIN(TestAuth)
#include "test_auth.moc"
