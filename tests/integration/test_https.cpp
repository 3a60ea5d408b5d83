// SPDX-License-Identifier: GPL-3.0-or-later
// HTTPS at the gateway, over real loopback sockets with a certificate made at run time: what an idle HTTPS
// connection holds once it parked (no record buffer), a request header cut off by header-timeout inside TLS,
// a response cut off by write-timeout when the client stops reading, and requests in one-byte records. The
// stream's own cases (partial records, a peer closing mid-record, renegotiation) are test_tls_stream's.
#include "core/gateway.hpp"
#include "support/http_client.hpp"
#include "support/loopback_settings.hpp"
#include "support/openssl_allocations.hpp"
#include "support/tls_certificate.hpp"
#include "support/tls_client.hpp"

#include <QTemporaryDir>
#include <QTest>

#include <memory>
#include <vector>

using namespace fleetscope;
using namespace fleetscope::testing;
using std::chrono::steady_clock;

namespace {

constexpr milliseconds kHeaderTimeout{300};
constexpr milliseconds kWriteTimeout{500};

std::uint64_t parked_total(const metrics::Snapshot& s)
{
    std::uint64_t n = 0;
    for (const auto& w : s.workers)
        n += w.parked;
    return n;
}

/// Waits up to `limit` for `done`, polling.
template <class Done>
bool wait_for(Done done, milliseconds limit)
{
    const auto until = steady_clock::now() + limit;
    while (!done()) {
        if (steady_clock::now() > until)
            return false;
        QTest::qWait(20);
    }
    return true;
}

} // namespace

class TestHttps : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void cleanupTestCase();

    void parkedConnectionsHoldNoRecordBuffers();
    void headerCutOffInsideTls();
    void writeCutOffWhenTheClientStopsReading();
    void requestInOneByteRecords();

private:
    QTemporaryDir dir_;
    std::string cert_;
    std::unique_ptr<Gateway> gateway_; // HTTPS, one worker, parks after 100 ms
};

void TestHttps::initTestCase()
{
    // The client's OpenSSL allocations are not the gateway's.
    exclude_this_thread_from_openssl_count();
    QVERIFY(openssl_counting_installed());
    QVERIFY(dir_.isValid());
    cert_ = dir_.filePath(QStringLiteral("cert.pem")).toStdString();
    const std::string key = dir_.filePath(QStringLiteral("key.pem")).toStdString();
    QVERIFY(write_self_signed(cert_, key));

    Settings s = loopback_settings(dir_, "https.db", 1);
    s.tls_cert = cert_;
    s.tls_key = key;
    s.park_after = milliseconds(100);
    s.header_timeout = kHeaderTimeout;
    s.write_timeout = kWriteTimeout;
    gateway_ = std::make_unique<Gateway>(s);
    gateway_->start();
    QVERIFY(gateway_->tls_enabled());
}

void TestHttps::cleanupTestCase()
{
    if (gateway_)
        gateway_->stop();
}

void TestHttps::parkedConnectionsHoldNoRecordBuffers()
{
    // Connections that handshook, were answered and parked keep their TLS session and nothing else of
    // OpenSSL's: no record buffer (one alone is over 16 KB). Asio's ssl::stream kept a BIO pair of two 17 KB
    // buffers per connection for as long as it lived, allocated by OpenSSL too.
    constexpr int kConnections = 40;
    const auto open = [&](std::vector<std::unique_ptr<TlsClient>>& into, int n) {
        for (int i = 0; i < n; ++i) {
            auto c = std::make_unique<TlsClient>(cert_);
            if (!c->connect(gateway_->port()))
                return "connect: " + c->error().message();
            const auto res = c->request(get("/healthz"));
            if (!res || res->result_int() != 200)
                return "GET /healthz: " + c->error().message();
            into.push_back(std::move(c));
        }
        return std::string();
    };
    const auto all_parked = [&](std::size_t n) {
        return wait_for([&] { return parked_total(gateway_->snapshot()) == n; }, milliseconds(5000));
    };
    std::vector<std::unique_ptr<TlsClient>> warm; // OpenSSL's one-time allocations
    std::string failed = open(warm, 2);
    QVERIFY2(failed.empty(), failed.c_str());
    QVERIFY(all_parked(2));
    const long long before = openssl_bytes_counted();

    std::vector<std::unique_ptr<TlsClient>> held;
    failed = open(held, kConnections);
    QVERIFY2(failed.empty(), failed.c_str());
    QVERIFY2(all_parked(kConnections + 2), "the connections did not all park within 5 s");
    const long long per_connection = (openssl_bytes_counted() - before) / kConnections;
    qInfo("OpenSSL holds %lld bytes per parked HTTPS connection", per_connection);
    QVERIFY(per_connection > 0);
    QVERIFY2(
        per_connection < 16 * 1024,
        qPrintable(
            QStringLiteral("%1 bytes per parked connection: a record buffer is held").arg(per_connection)));

    // Every one resumes on its session.
    for (auto& c : held) {
        const auto res = c->request(get("/healthz"));
        QVERIFY2(res, c->error().message().c_str());
        QCOMPARE(res->result_int(), 200);
    }
}

void TestHttps::headerCutOffInsideTls()
{
    // The handshake is done, then the request header stalls: answered 408 inside TLS at header-timeout.
    TlsClient c(cert_);
    QVERIFY2(c.connect(gateway_->port()), c.error().message().c_str());
    QVERIFY(c.send("POST /v1/telemetry HTTP/1.1\r\nHost: gw\r\nContent-Type: appl"));
    const auto res = c.read(milliseconds(5000));
    QVERIFY2(res, c.error().message().c_str());
    QCOMPARE(res->result_int(), 408);
    QVERIFY2(res->body().find("header-timeout (300 ms)") != std::string::npos, res->body().c_str());
    QVERIFY(!res->keep_alive());
    QVERIFY(c.wait_closed(milliseconds(3000)));
}

void TestHttps::writeCutOffWhenTheClientStopsReading()
{
    // Requests pipelined by a client that never reads: once the kernel's buffers are full, the gateway's
    // TLS write waits for the socket, and write-timeout ends the connection.
    TlsClient sizer(cert_);
    QVERIFY(sizer.connect(gateway_->port()));
    const auto doc = sizer.request(get("/v1/openapi.json"));
    QVERIFY2(doc && doc->result_int() == 200, sizer.error().message().c_str());
    const std::size_t requests = (16u << 20) / (doc->body().size() + 200) + 1; // 16 MB of answers

    // The earlier tests' connections are gone once the sizer's is the only one.
    const auto open_now = [&](std::uint64_t n) {
        return wait_for([&] { return gateway_->snapshot().connections_open == n; }, milliseconds(10'000));
    };
    QVERIFY(open_now(1));
    TlsClient c(cert_);
    QVERIFY2(c.connect(gateway_->port(), 4096), c.error().message().c_str());
    std::string pipeline;
    for (std::size_t i = 0; i < requests; ++i)
        pipeline += get("/v1/openapi.json");
    const auto sent = steady_clock::now();
    QVERIFY(c.send(pipeline));
    QVERIFY(open_now(2));
    // Cut at write-timeout (500 ms) after its writes stopped; the margin is for a loaded machine.
    QVERIFY2(open_now(1), "a connection whose client stopped reading was still open 10 s later");
    const auto after = std::chrono::duration_cast<milliseconds>(steady_clock::now() - sent);
    qInfo("cut %lld ms after the requests were sent", static_cast<long long>(after.count()));
    QVERIFY2(after >= kWriteTimeout, "cut before write-timeout: not by its deadline");

    // The gateway serves on, and so does the other connection.
    const auto res = sizer.request(get("/healthz"));
    QVERIFY2(res, sizer.error().message().c_str());
    QCOMPARE(res->result_int(), 200);
}

void TestHttps::requestInOneByteRecords()
{
    // Every byte of a request in a TLS record of its own, then one request in one record: both are answered.
    TlsClient c(cert_);
    QVERIFY2(c.connect(gateway_->port()), c.error().message().c_str());
    const std::string ask = get("/healthz");
    for (const char byte : ask)
        QVERIFY(c.send(std::string_view(&byte, 1)));
    auto res = c.read();
    QVERIFY2(res, c.error().message().c_str());
    QCOMPARE(res->result_int(), 200);
    res = c.request(ask);
    QVERIFY2(res, c.error().message().c_str());
    QCOMPARE(res->result_int(), 200);
}

QTEST_GUILESS_MAIN(TestHttps)
#include "test_https.moc"
