// SPDX-License-Identifier: GPL-3.0-or-later
// HTTP conformance (issue 14): the requirements RFC 9110 and RFC 9112 place on an origin server, over real
// loopback sockets against the in-process gateway. Each row is named after the section it checks, and
// docs/http-conformance.md maps every MUST to its row. Besides its own expectations, every response of every
// row is held to the requirements that bind all responses (violations()): the version, Date, the framing
// fields of 1xx, 204 and 304, Allow on 405, WWW-Authenticate on 401.
#include "core/auth/tokens.hpp"
#include "core/gateway.hpp"
#include "support/http_client.hpp"
#include "support/loopback_settings.hpp"
#include "support/store_files.hpp"

#include <QDateTime>
#include <QLocale>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTest>
#include <QTimeZone>

#include <algorithm>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

using namespace fleetscope;
using namespace fleetscope::testing;
using std::chrono::steady_clock;

namespace {

enum Then : int { kKeeps = 0, kCloses = 1 };

/// `data` compressed by zlib: `window_bits` 31 makes the gzip format, 15 the zlib format ("deflate").
std::string compress(std::string_view data, int window_bits)
{
    z_stream z{};
    if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, window_bits, 9, Z_DEFAULT_STRATEGY) != Z_OK)
        throw std::runtime_error("deflateInit2 failed");
    std::string out(deflateBound(&z, static_cast<uLong>(data.size())) + 64, '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    z.avail_in = static_cast<uInt>(data.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    const int rc = deflate(&z, Z_FINISH);
    out.resize(z.total_out);
    deflateEnd(&z);
    if (rc != Z_STREAM_END)
        throw std::runtime_error("deflate did not finish");
    return out;
}

std::string gzip(std::string_view data)
{
    return compress(data, 31);
}

/// A POST /v1/telemetry with `headers` (each line ending in CRLF) and `body` as given: Host and Content-Type
/// are added, the framing is the caller's.
QByteArray post_raw(std::string_view headers, std::string_view body, std::string_view version = "HTTP/1.1",
                    std::string_view target = "/v1/telemetry")
{
    std::string r = "POST " + std::string(target) + " " + std::string(version) +
                    "\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n";
    r += headers;
    r += "\r\n";
    r += body;
    return QByteArray::fromStdString(r);
}

/// A POST with Content-Length.
QByteArray post_sized(std::string_view headers, std::string_view body, std::string_view version = "HTTP/1.1",
                      std::string_view target = "/v1/telemetry")
{
    return post_raw("Content-Length: " + std::to_string(body.size()) + "\r\n" + std::string(headers), body,
                    version, target);
}

std::string chunked(std::string_view body, std::string_view trailer = {})
{
    char size[32];
    std::snprintf(size, sizeof size, "%zx", body.size());
    return std::string(size) + "\r\n" + std::string(body) + "\r\n0\r\n" + std::string(trailer) + "\r\n";
}

QByteArray bytes(std::string_view s)
{
    return QByteArray(s.data(), qsizetype(s.size()));
}

std::string field(const Response& res, std::string_view name)
{
    const auto it = res.find(name);
    return it == res.end() ? std::string() : str(it->value());
}

/// What RFC 9110 and 9112 require of every response, given the request's method and version; empty when it
/// conforms.
QStringList violations(const Response& res, std::string_view method, bool request_is_1_0)
{
    QStringList v;
    const int status = res.result_int();
    const auto count = [&](std::string_view name) { return res.count(name); };
    // 9110-6.2: never a version the server does not implement (a MUST), and the highest 1.x it does (a SHOULD
    // the gateway follows).
    if (res.version() != 11)
        v << QStringLiteral("9110-6.2: response version %1, expected HTTP/1.1").arg(res.version());
    if (status >= 200 && status < 500) {
        // 9110-6.6.1: Date in every 2xx, 3xx and 4xx, as an IMF-fixdate (9110-5.6.7) close to now.
        const QString date = QString::fromStdString(field(res, "Date"));
        static const QRegularExpression kImfFixdate(
            QStringLiteral("^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-3][0-9] "
                           "(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} "
                           "[0-2][0-9]:[0-5][0-9]:[0-6][0-9] GMT$"));
        if (count("Date") != 1 || !kImfFixdate.match(date).hasMatch()) {
            v << "9110-6.6.1: no Date, or one that is not an IMF-fixdate: '" + date + "'";
        } else {
            QDateTime when = QLocale::c().toDateTime(date, QStringLiteral("ddd, dd MMM yyyy HH:mm:ss 'GMT'"));
            when.setTimeZone(QTimeZone::utc());
            if (!when.isValid() || std::abs(when.secsTo(QDateTime::currentDateTimeUtc())) > 60)
                v << "9110-6.6.1: Date far from now: '" + date + "'";
        }
    }
    const bool has_length = count("Content-Length") != 0;
    const bool has_coding = count("Transfer-Encoding") != 0;
    if (has_length && has_coding)
        v << QStringLiteral("9112-6.2: Content-Length together with Transfer-Encoding");
    if ((status < 200 || status == 204 || status == 304) && (has_length || has_coding))
        v << QStringLiteral("9110-8.6, 9112-6.1: Content-Length or Transfer-Encoding in a %1").arg(status);
    if (request_is_1_0 && has_coding)
        v << QStringLiteral("9112-6.1: Transfer-Encoding in a response to HTTP/1.0");
    if (status == 405 && count("Allow") == 0)
        v << QStringLiteral("9110-15.5.6: a 405 without Allow");
    if (status == 401 && count("WWW-Authenticate") == 0)
        v << QStringLiteral("9110-11.6.1: a 401 without WWW-Authenticate");
    for (const char* once : {"Date", "Content-Length", "Content-Type", "Server", "Connection", "Allow"})
        if (count(once) > 1)
            v << QStringLiteral("9110-5.3: %1 more than once").arg(once);
    if (method == "HEAD" && !res.body().empty())
        v << QStringLiteral("9110-9.3.2: content in a response to HEAD");
    return v;
}

/// The method and whether the version is HTTP/1.0, from the request line of `raw`.
std::pair<std::string, bool> request_line(const QByteArray& raw)
{
    const QByteArray line = raw.left(raw.indexOf("\r\n"));
    return {line.left(line.indexOf(' ')).toStdString(), line.endsWith("HTTP/1.0")};
}

/// violations() of a response to the request `raw` starts with, as one message; empty when it conforms.
QString violations_of(const Response& res, const QByteArray& raw)
{
    const auto [method, is_1_0] = request_line(raw);
    return violations(res, method, is_1_0).join(QStringLiteral("; "));
}

/// Fails the calling test function when `res`, answering `raw`, breaks a requirement of every response.
#define VERIFY_CONFORMS(res, raw)                                                                            \
    do {                                                                                                     \
        const QString wrong_ = violations_of(res, raw);                                                      \
        QVERIFY2(wrong_.isEmpty(), qPrintable(wrong_));                                                      \
    } while (false)

std::int64_t stored(const std::string& db, const QString& device)
{
    const auto rows = read_readings(db);
    const std::string d = device.toStdString();
    return std::count_if(rows.begin(), rows.end(), [&](const auto& r) { return r.first == d; });
}

} // namespace

class TestConformance : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void cleanupTestCase();

    void exchange_data();
    void exchange();
    void headContentLengthIsGets_data();
    void headContentLengthIsGets();
    void pipelinedResponsesInOrder();
    void headerAppliedOnlyWhenComplete();
    void incompleteBodyIsNotProcessed();
    void expectContinue_data();
    void expectContinue();
    void unauthorizedCarriesChallenge();

private:
    QTemporaryDir dir_;
    std::unique_ptr<Gateway> gateway_;
    std::string db_;
    std::uint16_t port_ = 0;
};

void TestConformance::initTestCase()
{
    QVERIFY(dir_.isValid());
    // The shipped limits, so that the rows show the defaults conform.
    Settings s = loopback_settings(dir_, "conformance.db");
    gateway_ = std::make_unique<Gateway>(s);
    gateway_->start();
    port_ = gateway_->port();
    db_ = s.db_path;
}

void TestConformance::cleanupTestCase()
{
    if (gateway_)
        gateway_->stop();
}

void TestConformance::exchange_data()
{
    QTest::addColumn<QByteArray>("raw");      // what the client sends on a fresh connection
    QTest::addColumn<int>("status");          // of the first response
    QTest::addColumn<QStringList>("present"); // "Name" or "Name: exact value"
    QTest::addColumn<QStringList>("absent");  // field names
    QTest::addColumn<int>("then");            // kKeeps: another request is served on the connection
    QTest::addColumn<QString>("device");      // readings of this device stored after the exchange...
    QTest::addColumn<int>("readings");        // ...this many

    const Settings defaults;
    const auto sample = [](const char* device) { return sample_json(device, 1, 1); };
    const QStringList none;
    const auto row = [](const char* name) { return &QTest::newRow(name); };

    // RFC 9112 3.2: Host.
    *row("9112-3.2 HTTP/1.1 request without Host: 400")
        << bytes("POST /v1/telemetry HTTP/1.1\r\nContent-Type: "
                 "application/json\r\nContent-Length: " +
                 std::to_string(sample("host-0").size()) + "\r\n\r\n" + sample("host-0"))
        << 400 << none << none << int(kCloses) << "host-0" << 0;
    *row("9112-3.2 two Host field lines: 400") << post_sized("Host: 127.0.0.1\r\n", sample("host-2")) << 400
                                               << none << none << int(kCloses) << "host-2" << 0;
    *row("9112-3.2 Host with userinfo: 400") << bytes("GET /healthz HTTP/1.1\r\nHost: user@127.0.0.1\r\n\r\n")
                                             << 400 << none << none << int(kCloses) << QString() << 0;
    *row("9112-3.2 Host with two ports: 400")
        << bytes("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:80:80\r\n\r\n") << 400 << none << none
        << int(kCloses) << QString() << 0;
    *row("9112-3.2 Host with a path: 400") << bytes("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1/x\r\n\r\n")
                                           << 400 << none << none << int(kCloses) << QString() << 0;
    *row("9112-3.2 Host with a port that is not a number: 400")
        << bytes("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:8a\r\n\r\n") << 400 << none << none << int(kCloses)
        << QString() << 0;
    *row("9112-3.2 Host as an IPv6 literal is valid")
        << bytes("GET /healthz HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n") << 200 << none << none << int(kKeeps)
        << QString() << 0;
    *row("9112-3.2 Host with a percent-encoded name is valid")
        << bytes("GET /healthz HTTP/1.1\r\nHost: gate%2Dway.example\r\n\r\n") << 200 << none << none
        << int(kKeeps) << QString() << 0;
    *row("9112-3.2 empty Host is valid") << bytes("GET /healthz HTTP/1.1\r\nHost:\r\n\r\n") << 200 << none
                                         << none << int(kKeeps) << QString() << 0;
    *row("9112-3.2 HTTP/1.0 without Host is served")
        << bytes("GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n") << 200 << none << none
        << int(kKeeps) << QString() << 0;
    *row("9110-5.5 whitespace around a field value is not part of it")
        << bytes("GET /healthz HTTP/1.1\r\nHost: \t127.0.0.1:8080 \t\r\n\r\n") << 200 << none << none
        << int(kKeeps) << QString() << 0;

    // RFC 9112 3 and 3.2.2: the request target.
    *row("9112-3.2.2 absolute-form target accepted")
        << post_sized("", sample("absolute"), "HTTP/1.1", "http://127.0.0.1/v1/telemetry") << 204 << none
        << none << int(kKeeps) << "absolute" << 1;
    *row("9112-3.2.2 absolute-form: the Host field is ignored")
        << bytes("GET http://fleet.example:8080/v1/devices/absolute/samples?limit=1 HTTP/1.1\r\n"
                 "Host: elsewhere.example\r\n\r\n")
        << 200 << QStringList{"Content-Type"} << none << int(kKeeps) << "absolute" << 1;
    *row("9110-4.2.1 http URI with an empty host: 400")
        << bytes("GET http:///healthz HTTP/1.1\r\nHost: x\r\n\r\n") << 400 << none << none << int(kCloses)
        << QString() << 0;
    *row("9110-7.4 https target on a connection without TLS: 421")
        << bytes("GET https://127.0.0.1/healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n") << 421 << none << none
        << int(kCloses) << QString() << 0;
    *row("9112-3 request target longer than max-header-bytes: 414")
        << bytes("GET /healthz?" + std::string(defaults.max_header_bytes + 100, 'a') +
                 " HTTP/1.1\r\nHost: x\r\n\r\n")
        << 414 << none << none << int(kCloses) << QString() << 0;
    *row("9112-3 request target of 7000 octets is parsed")
        << bytes("GET /v1/devices/x/samples?" + std::string(7000, 'a') + "=1 HTTP/1.1\r\nHost: x\r\n\r\n")
        << 400 << none << none << int(kKeeps) << QString() << 0;
    *row("9112-3.2 target that is not origin-form: 400")
        << bytes("GET healthz HTTP/1.1\r\nHost: x\r\n\r\n") << 400 << none << none << int(kCloses)
        << QString() << 0;

    // RFC 9110 6.2: versions.
    *row("9110-6.2 HTTP/1.0 is answered in HTTP/1.1")
        << bytes("GET /healthz HTTP/1.0\r\n\r\n") << 200 << none << none << int(kCloses) << QString() << 0;
    // A SHOULD the gateway does not meet: Beast 1.81 parses only HTTP/1.0 and HTTP/1.1.
    *row("9110-6.2 HTTP/1.2 request line: 505 in HTTP/1.1")
        << bytes("GET /healthz HTTP/1.2\r\nHost: x\r\n\r\n") << 505 << none << none << int(kCloses)
        << QString() << 0;
    *row("9110-6.2 HTTP/2.0 request line: 505 in HTTP/1.1")
        << bytes("GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n") << 505 << none << none << int(kCloses)
        << QString() << 0;

    // RFC 9112 2.2 and 5: message and field syntax.
    *row("9112-2.2 whitespace before the first field: 400")
        << bytes("GET /healthz HTTP/1.1\r\n Host: x\r\n\r\n") << 400 << none << none << int(kCloses)
        << QString() << 0;
    *row("9112-2.2 bare CR in a field: 400") << bytes("GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n")
                                             << 400 << none << none << int(kCloses) << QString() << 0;
    *row("9112-5.1 whitespace between field name and colon: 400")
        << bytes("GET /healthz HTTP/1.1\r\nHost : x\r\n\r\n") << 400 << none << none << int(kCloses)
        << QString() << 0;
    *row("9112-5.2 obs-fold replaced by SP in a harmless field")
        << post_sized("X-Note: one\r\n two\r\n", sample("fold-1")) << 204 << none << none << int(kKeeps)
        << "fold-1" << 1;
    *row("9112-5.2 obs-fold replaced by SP makes Content-Length invalid: 400")
        << post_raw("Content-Length: 4\r\n 6\r\n", sample("fold-2")) << 400 << none << none << int(kCloses)
        << "fold-2" << 0;
    *row("9110-5.5 NUL in a field value: 400")
        << bytes(std::string("GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a") + '\0' + "b\r\n\r\n") << 400
        << none << none << int(kCloses) << QString() << 0;
    *row("9110-5.4 header section above max-header-bytes: 431")
        << bytes("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Fill: " +
                 std::string(defaults.max_header_bytes, 'f') + "\r\n\r\n")
        << 431 << none << none << int(kCloses) << QString() << 0;
    *row("9110-5.1 field names are case-insensitive")
        << bytes("POST /v1/telemetry HTTP/1.1\r\nhOsT: x\r\ncontent-TYPE: "
                 "application/json\r\ncontent-length: " +
                 std::to_string(sample("case-1").size()) + "\r\n\r\n" + sample("case-1"))
        << 204 << none << none << int(kKeeps) << "case-1" << 1;
    *row("9110-5.6.1 empty list elements are ignored (Transfer-Encoding)")
        << post_raw("Transfer-Encoding: , chunked,\r\n", chunked(sample("list-1"))) << 204 << none << none
        << int(kKeeps) << "list-1" << 1;
    *row("9110-5.6.1 empty list elements are ignored (Connection)")
        << bytes("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: , close,\r\n\r\n") << 200 << none << none
        << int(kCloses) << QString() << 0;

    // RFC 9112 6 and 7: message body framing.
    *row("9112-6.1 HTTP/1.0 with Transfer-Encoding: closes after the response")
        << bytes(post_raw("Connection: keep-alive\r\nTransfer-Encoding: chunked\r\n",
                          chunked(sample("te-10")), "HTTP/1.0")
                     .toStdString() +
                 post_telemetry(sample_json("te-10", 2, 2)))
        << 204 << QStringList{"Connection: close"} << none << int(kCloses) << "te-10" << 1;
    *row("9112-6.1 Content-Length with Transfer-Encoding: closes after the response")
        << post_raw("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
                    chunked(sample("cl-te")) + post_telemetry(sample_json("cl-te", 2, 2)))
        << 400 << none << none << int(kCloses) << "cl-te" << 0;
    *row("9112-6.3 Transfer-Encoding not ending in chunked: 400, closes")
        << post_raw("Transfer-Encoding: chunked, gzip\r\n", chunked(sample("te-gzip"))) << 400 << none << none
        << int(kCloses) << "te-gzip" << 0;
    *row("9112-6.3 invalid Content-Length: 400, closes")
        << post_raw("Content-Length: 4x\r\n", sample("cl-bad")) << 400 << none << none << int(kCloses)
        << "cl-bad" << 0;
    *row("9112-6.3 Content-Length list of one value")
        << post_raw("Content-Length: " + std::to_string(sample("cl-list").size()) + ", " +
                        std::to_string(sample("cl-list").size()) + "\r\n",
                    sample("cl-list"))
        << 204 << none << none << int(kKeeps) << "cl-list" << 1;
    *row("9112-6.3 Content-Length list of different values: 400")
        << post_raw("Content-Length: 1, " + std::to_string(sample("cl-list2").size()) + "\r\n",
                    sample("cl-list2"))
        << 400 << none << none << int(kCloses) << "cl-list2" << 0;
    *row("9110-8.6 Content-Length beyond 64 bits: 400")
        << post_raw("Content-Length: 99999999999999999999999\r\n", "") << 400 << none << none << int(kCloses)
        << QString() << 0;
    *row("9110-8.6 Content-Length of 2^63-1: 413") << post_raw("Content-Length: 9223372036854775807\r\n", "")
                                                   << 413 << none << none << int(kCloses) << QString() << 0;
    *row("9112-7.1 chunked body") << post_raw("Transfer-Encoding: chunked\r\n", chunked(sample("chunked")))
                                  << 204 << none << none << int(kKeeps) << "chunked" << 1;
    *row("9112-7.1 chunk size beyond 64 bits: 400")
        << post_raw("Transfer-Encoding: chunked\r\n",
                    "fffffffffffffffff2e\r\n" + sample("chunk-big") + "\r\n0\r\n\r\n")
        << 400 << none << none << int(kCloses) << "chunk-big" << 0;
    *row("9112-7.1.1 unknown chunk extension ignored")
        << post_raw("Transfer-Encoding: chunked\r\n",
                    chunked(sample("chunk-ext"))
                        .replace(chunked(sample("chunk-ext")).find("\r\n"), 0, ";ext=\"v\""))
        << 204 << none << none << int(kKeeps) << "chunk-ext" << 1;
    *row("9110-6.5.1 trailer fields do not join the header section")
        << post_raw("Transfer-Encoding: chunked\r\n",
                    chunked(sample("trailer"), "Content-Encoding: gzip\r\nContent-Type: text/plain\r\n"))
        << 204 << none << none << int(kKeeps) << "trailer" << 1;

    // RFC 9112 9.3 and 9.6: persistence and closing.
    *row("9112-9.6 Connection: close: no further request is processed")
        << bytes(post_telemetry(sample("close-1"), "Connection: close\r\n") +
                 post_telemetry(sample_json("close-1", 2, 2)))
        << 204 << QStringList{"Connection: close"} << none << int(kCloses) << "close-1" << 1;
    *row("9112-9.3 HTTP/1.0 keep-alive persists")
        << bytes("GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n") << 200
        << QStringList{"Connection: keep-alive"} << none << int(kKeeps) << QString() << 0;
    *row("9112-9.3 a refusal before the body closes the connection")
        << bytes("POST /v1/telemetry HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: " +
                 std::to_string(sample("unread").size()) + "\r\n\r\n" + post_telemetry(sample("unread")))
        << 415 << none << QStringList{"Accept-Encoding"} << int(kCloses) << "unread" << 0;
    *row("9112-9.3 a body on a route that takes none is read and discarded")
        << bytes("GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nGET /") << 200 << none << none
        << int(kKeeps) << QString() << 0;

    // RFC 9110 9.3.2: HEAD, wherever GET is served, and never with content.
    for (const char* target :
         {"/healthz", "/metrics", "/v1/devices", "/v1/devices/absolute/samples", "/v1/alerts"})
        *row(qPrintable(QStringLiteral("9110-9.3.2 HEAD %1: as GET, without content").arg(target)))
            << bytes("HEAD " + std::string(target) + " HTTP/1.1\r\nHost: x\r\n\r\n") << 200
            << QStringList{"Content-Type", "Content-Length"} << none << int(kKeeps) << QString() << 0;
    *row("9110-9.3.2 HEAD on a POST route: 405 without content")
        << bytes("HEAD /v1/telemetry HTTP/1.1\r\nHost: x\r\n\r\n") << 405 << QStringList{"Allow: POST"}
        << none << int(kKeeps) << QString() << 0;
    *row("9110-9.3.2 HEAD on no route: 404 without content")
        << bytes("HEAD /nowhere HTTP/1.1\r\nHost: x\r\n\r\n") << 404 << none << none << int(kKeeps)
        << QString() << 0;

    // RFC 9110 15: status codes and the fields they require.
    *row("9110-15.5.6 405 lists GET and HEAD")
        << post_sized("", "[]", "HTTP/1.1", "/v1/devices") << 405 << QStringList{"Allow: GET, HEAD"} << none
        << int(kKeeps) << QString() << 0;
    *row("9110-15.5.6 405 lists POST") << bytes("GET /v1/telemetry HTTP/1.1\r\nHost: x\r\n\r\n") << 405
                                       << QStringList{"Allow: POST"} << none << int(kKeeps) << QString() << 0;
    *row("9110-8.6 204 without Content-Length")
        << bytes(post_telemetry(sample("no-content"))) << 204 << none
        << QStringList{"Content-Length", "Transfer-Encoding"} << int(kKeeps) << "no-content" << 1;
    *row("9110-7.8 Upgrade is ignored")
        << bytes("GET /healthz HTTP/1.0\r\nUpgrade: h2c\r\nConnection: Upgrade, "
                 "keep-alive\r\n\r\n")
        << 200 << none << QStringList{"Upgrade"} << int(kKeeps) << QString() << 0;

    // RFC 9110 10.1.1: an expectation answered by the header alone gets its final status at once.
    *row("9110-10.1.1 100-continue refused by the header: the final status, no 100")
        << bytes("POST /v1/telemetry HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nExpect: "
                 "100-continue\r\n"
                 "Content-Length: 100\r\n\r\n")
        << 415 << none << none << int(kCloses) << QString() << 0;

    // RFC 9110 8.4: content codings.
    *row("9110-8.4 gzip body decoded") << post_sized("Content-Encoding: gzip\r\n", gzip(sample("gzip-1")))
                                       << 204 << none << none << int(kKeeps) << "gzip-1" << 1;
    *row("9110-8.4.1 coding names are case-insensitive, x-gzip is gzip")
        << post_sized("Content-Encoding: X-GZIP\r\n", gzip(sample("gzip-2"))) << 204 << none << none
        << int(kKeeps) << "gzip-2" << 1;
    *row("9110-8.4 deflate (zlib) body decoded")
        << post_sized("Content-Encoding: deflate\r\n", compress(sample("deflate-1"), 15)) << 204 << none
        << none << int(kKeeps) << "deflate-1" << 1;
    *row("9110-8.4 gzip body sent chunked")
        << post_raw("Transfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n",
                    chunked(gzip(sample("gzip-3"))))
        << 204 << none << none << int(kKeeps) << "gzip-3" << 1;
    *row("9110-8.4 identity is no coding") << post_sized("Content-Encoding: identity\r\n", sample("identity"))
                                           << 204 << none << none << int(kKeeps) << "identity" << 1;
    *row("9110-8.4 plain JSON labelled gzip: 400")
        << post_sized("Content-Encoding: gzip\r\n", sample("fake-gzip")) << 400 << none << none << int(kKeeps)
        << "fake-gzip" << 0;
    *row("9110-15.5.16 unknown coding: 415 with Accept-Encoding")
        << post_sized("Content-Encoding: br\r\n", sample("brotli")) << 415 << QStringList{"Accept-Encoding"}
        << none << int(kCloses) << "brotli" << 0;
    *row("9110-8.4 decoded body above max-body-bytes: 413")
        << post_sized("Content-Encoding: gzip\r\n", gzip(std::string(16 * defaults.max_body_bytes, ' ')))
        << 413 << none << none << int(kKeeps) << QString() << 0;

    // RFC 9110 13: conditional requests. The gateway has no validators, so If-Match can hold only as "*" on a
    // resource with a representation, and If-None-Match fails only as "*" there.
    *row("9110-13.1.1 If-Match on a resource without a representation: 412, not performed")
        << post_sized("If-Match: *\r\n", sample("if-match")) << 412 << none << none << int(kCloses)
        << "if-match" << 0;
    *row("9110-13.1.1 If-Match with an entity tag: 412")
        << bytes("GET /healthz HTTP/1.1\r\nHost: x\r\nIf-Match: \"a\"\r\n\r\n") << 412 << none << none
        << int(kKeeps) << QString() << 0;
    *row("9110-13.1.1 If-Match: * on a resource with a representation")
        << bytes("GET /healthz HTTP/1.1\r\nHost: x\r\nIf-Match: *\r\n\r\n") << 200 << none << none
        << int(kKeeps) << QString() << 0;
    *row("9110-13.1.2 If-None-Match: * on GET: 304")
        << bytes("GET /healthz HTTP/1.1\r\nHost: x\r\nIf-None-Match: "
                 "*\r\n\r\n")
        << 304 << none << none << int(kKeeps) << QString() << 0;
    *row("9110-13.1.2 If-None-Match: * on a resource without a representation is performed")
        << post_sized("If-None-Match: *\r\n", sample("if-none-match")) << 204 << none << none << int(kKeeps)
        << "if-none-match" << 1;
    *row("9110-13.1.2 If-None-Match with entity tags holds")
        << bytes("GET /healthz HTTP/1.1\r\nHost: x\r\nIf-None-Match: \"a\", W/\"b\"\r\n\r\n") << 200 << none
        << none << int(kKeeps) << QString() << 0;
    *row("9110-13.1.3 If-Modified-Since ignored without a modification date")
        << bytes(
               "GET /healthz HTTP/1.1\r\nHost: x\r\nIf-Modified-Since: Sun, 06 Nov 2044 08:49:37 GMT\r\n\r\n")
        << 200 << none << none << int(kKeeps) << QString() << 0;
    *row("9110-13.1.4 If-Unmodified-Since ignored without a modification date")
        << post_sized("If-Unmodified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n", sample("unmodified")) << 204
        << none << none << int(kKeeps) << "unmodified" << 1;
    *row("9110-13.1.5 If-Range without Range ignored")
        << bytes("GET /healthz HTTP/1.1\r\nHost: x\r\nIf-Range: \"a\"\r\n\r\n") << 200 << none << none
        << int(kKeeps) << QString() << 0;
    *row("9110-13.2.2 If-Match before If-None-Match")
        << bytes("GET /healthz HTTP/1.1\r\nHost: x\r\nIf-None-Match: *\r\nIf-Match: \"a\"\r\n\r\n") << 412
        << none << none << int(kKeeps) << QString() << 0;
    *row("9110-13.2.1 preconditions ignored when the answer is not 2xx")
        << bytes("GET /nowhere HTTP/1.1\r\nHost: x\r\nIf-Match: \"a\"\r\n\r\n") << 404 << none << none
        << int(kKeeps) << QString() << 0;

    // RFC 9110 14: ranges are not supported, and ignored.
    *row("9110-14.2 Range with an unknown unit ignored")
        << bytes("GET /healthz HTTP/1.1\r\nHost: x\r\nRange: pages=1-2\r\n\r\n") << 200 << none
        << QStringList{"Content-Range"} << int(kKeeps) << QString() << 0;
    *row("9110-14.4 Content-Range on GET ignored")
        << bytes("GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Range: bytes 0-1/2\r\n\r\n") << 200 << none
        << none << int(kKeeps) << QString() << 0;
    *row("9110-14.2 Range on POST ignored") << post_sized("Range: bytes=0-1\r\n", sample("range")) << 204
                                            << none << none << int(kKeeps) << "range" << 1;
}

void TestConformance::exchange()
{
    QFETCH(QByteArray, raw);
    QFETCH(int, status);
    QFETCH(QStringList, present);
    QFETCH(QStringList, absent);
    QFETCH(int, then);
    QFETCH(QString, device);
    QFETCH(int, readings);

    const bool head = raw.startsWith("HEAD ");
    HttpClient c;
    QVERIFY(c.connect(port_));
    // The gateway may answer and close before it read everything (a request line too long), so a failed send
    // is not a failure: the answer is what counts.
    c.send(raw.toStdString(), milliseconds(3000));
    auto res = c.read(milliseconds(3000), head);
    QVERIFY2(res, qPrintable("no response: " + QString::fromStdString(c.error().message())));
    QVERIFY2(res->result_int() == status, qPrintable(QStringLiteral("status %1, expected %2; body: %3")
                                                         .arg(res->result_int())
                                                         .arg(status)
                                                         .arg(QString::fromStdString(res->body()))));
    VERIFY_CONFORMS(*res, raw);
    for (const QString& want : present) {
        const auto colon = want.indexOf(QStringLiteral(": "));
        const std::string name = want.left(colon).toStdString();
        QVERIFY2(res->count(name) != 0, qPrintable("no " + want.left(colon)));
        if (colon >= 0)
            QCOMPARE(QString::fromStdString(field(*res, name)), want.mid(colon + 2));
    }
    for (const QString& unwanted : absent)
        QVERIFY2(res->count(unwanted.toStdString()) == 0,
                 qPrintable(unwanted + ": " + QString::fromStdString(field(*res, unwanted.toStdString()))));

    if (then == kKeeps) {
        QVERIFY2(res->keep_alive(), "the connection was to carry on");
        // The next response parses only if this one was framed exactly (no content after HEAD, 204 or 304).
        auto next = c.request(get("/healthz"));
        QVERIFY2(next, qPrintable("the next request: " + QString::fromStdString(c.error().message())));
        QCOMPARE(next->result_int(), 200);
        VERIFY_CONFORMS(*next, "GET /healthz HTTP/1.1\r\n");
    } else {
        QVERIFY2(!res->keep_alive(), "a response before closing says Connection: close");
        QVERIFY2(c.wait_closed(milliseconds(2000)),
                 qPrintable(
                     QStringLiteral("the connection stayed open, or %1 more bytes came").arg(c.buffered())));
    }
    if (!device.isEmpty())
        QCOMPARE(stored(db_, device), std::int64_t(readings));
}

void TestConformance::headContentLengthIsGets_data()
{
    QTest::addColumn<QByteArray>("target");
    QTest::newRow("/v1/devices/absolute/samples") << QByteArray("/v1/devices/absolute/samples");
    QTest::newRow("/v1/alerts") << QByteArray("/v1/alerts");
    QTest::newRow("/nowhere (404)") << QByteArray("/nowhere");
    QTest::newRow("/v1/telemetry (405)") << QByteArray("/v1/telemetry");
}

void TestConformance::headContentLengthIsGets()
{
    // RFC 9110 8.6: a Content-Length in a response to HEAD is the length GET's content would have.
    QFETCH(QByteArray, target);
    HttpClient c;
    QVERIFY(c.connect(port_));
    const std::string t = target.toStdString();
    auto got = c.request(get(t));
    QVERIFY(got);
    QVERIFY(c.send("HEAD " + t + " HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto head = c.read(kWait, true);
    QVERIFY2(head, qPrintable(QString::fromStdString(c.error().message())));
    QCOMPARE(head->result_int(), got->result_int());
    QCOMPARE(field(*head, "Content-Length"), std::to_string(got->body().size()));
    QCOMPARE(field(*head, "Content-Type"), field(*got, "Content-Type"));
    QVERIFY(head->body().empty());
}

void TestConformance::pipelinedResponsesInOrder()
{
    // RFC 9112 9.3.2: responses in the order of the requests.
    std::string burst;
    std::vector<std::pair<bool, int>> expected; // (HEAD, status)
    for (int i = 0; i < 12; ++i) {
        switch (i % 4) {
        case 0:
            burst += post_telemetry(sample_json("pipelined", i, i));
            expected.emplace_back(false, 204);
            break;
        case 1:
            burst += "HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
            expected.emplace_back(true, 200);
            break;
        case 2:
            burst += get("/nowhere");
            expected.emplace_back(false, 404);
            break;
        default:
            burst += get("/healthz", "If-None-Match: *\r\n");
            expected.emplace_back(false, 304);
        }
    }
    HttpClient c;
    QVERIFY(c.connect(port_));
    QVERIFY(c.send(burst));
    for (const auto& [head, status] : expected) {
        auto res = c.read(kWait, head);
        QVERIFY2(res, qPrintable(QString::fromStdString(c.error().message())));
        QCOMPARE(res->result_int(), status);
        VERIFY_CONFORMS(*res, head ? "HEAD / HTTP/1.1\r\n" : "GET / HTTP/1.1\r\n");
    }
    QCOMPARE(stored(db_, QStringLiteral("pipelined")), std::int64_t(3));
}

void TestConformance::headerAppliedOnlyWhenComplete()
{
    // RFC 9110 5.3: nothing is applied before the whole header section arrived.
    HttpClient c;
    QVERIFY(c.connect(port_));
    const std::string body = sample_json("partial-header", 1, 1);
    const std::string whole = post_telemetry(body);
    const auto end_of_header = whole.find("\r\n\r\n");
    QVERIFY(c.send(whole.substr(0, end_of_header + 2)));
    auto early = c.read(milliseconds(300));
    QVERIFY2(!early && c.error() == boost::asio::error::timed_out,
             "answered before the header section ended");
    QCOMPARE(stored(db_, QStringLiteral("partial-header")), std::int64_t(0));
    QVERIFY(c.send(whole.substr(end_of_header + 2)));
    auto res = c.read();
    QVERIFY(res);
    QCOMPARE(res->result_int(), 204);
    QCOMPARE(stored(db_, QStringLiteral("partial-header")), std::int64_t(1));
}

void TestConformance::incompleteBodyIsNotProcessed()
{
    // RFC 9112 6.3: a body that ends before its Content-Length is incomplete, and the connection closes.
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    QVERIFY(fd >= 0);
    const auto closer = qScopeGuard([fd] { ::close(fd); });
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port_);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    QVERIFY(::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
    const std::string body = sample_json("incomplete", 1, 1);
    const std::string request =
        "POST /v1/telemetry HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
        std::to_string(body.size() + 10) + "\r\n\r\n" + body;
    QVERIFY(::send(fd, request.data(), request.size(), MSG_NOSIGNAL) == ssize_t(request.size()));
    QVERIFY(::shutdown(fd, SHUT_WR) == 0);
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string answer;
    char buf[4096];
    ssize_t n = 0;
    while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0)
        answer.append(buf, std::size_t(n));
    QVERIFY2(n == 0, "the connection did not close");
    QVERIFY2(answer.empty() || answer.starts_with("HTTP/1.1 400 "), answer.c_str());
    QCOMPARE(stored(db_, QStringLiteral("incomplete")), std::int64_t(0));
}

void TestConformance::expectContinue_data()
{
    QTest::addColumn<QByteArray>("version");
    QTest::addColumn<bool>("interim"); // a 100 (Continue) comes before the body is sent
    // RFC 9110 10.1.1: 100 (Continue) at once, without waiting for the body, then the final status.
    QTest::newRow("9110-10.1.1 HTTP/1.1: 100 before the body, then the final status")
        << QByteArray("HTTP/1.1") << true;
    // RFC 9110 10.1.1 and 15.2: the expectation in an HTTP/1.0 request is ignored; no 1xx goes to HTTP/1.0.
    QTest::newRow("9110-10.1.1, 15.2 HTTP/1.0: the expectation is ignored")
        << QByteArray("HTTP/1.0") << false;
}

void TestConformance::expectContinue()
{
    QFETCH(QByteArray, version);
    QFETCH(bool, interim);
    const QString device = QStringLiteral("continue-") + QString::fromLatin1(version).replace(u'/', u'-');
    HttpClient c;
    QVERIFY(c.connect(port_));
    const std::string body = sample_json(device.toStdString(), 1, 1);
    const QByteArray header = "POST /v1/telemetry " + version +
                              "\r\nHost: x\r\nContent-Type: application/json\r\nExpect: 100-continue\r\n"
                              "Content-Length: " +
                              QByteArray::number(qsizetype(body.size())) + "\r\n\r\n";
    QVERIFY(c.send(header.toStdString()));
    auto early = c.read(milliseconds(interim ? 2000 : 500));
    if (interim) {
        QVERIFY2(early, "no 100 (Continue) before the body");
        QCOMPARE(early->result_int(), 100);
        VERIFY_CONFORMS(*early, header);
    } else {
        QVERIFY2(
            !early,
            qPrintable(QStringLiteral("answered %1 before the body").arg(early ? early->result_int() : 0)));
        QCOMPARE(c.error(), boost::asio::error::timed_out);
    }
    QVERIFY(c.send(body));
    auto res = c.read();
    QVERIFY(res);
    QCOMPARE(res->result_int(), 204);
    VERIFY_CONFORMS(*res, header);
    QCOMPARE(stored(db_, device), std::int64_t(1));
}

void TestConformance::unauthorizedCarriesChallenge()
{
    // RFC 9110 11.6.1: a 401 carries WWW-Authenticate with a challenge.
    QTemporaryDir dir;
    Settings s;
    s.listen = "127.0.0.1:0";
    s.db_path = dir.filePath(QStringLiteral("tokens.db")).toStdString();
    s.workers = 1;
    s.token_file = dir.filePath(QStringLiteral("tokens")).toStdString();
    auth::add_token(s.token_file, "locked");
    Gateway g(s);
    g.start();
    HttpClient c;
    QVERIFY(c.connect(g.port()));
    const QByteArray raw = bytes(post_telemetry(sample_json("locked", 1, 1)));
    auto res = c.request(raw.toStdString());
    QVERIFY(res);
    QCOMPARE(res->result_int(), 401);
    VERIFY_CONFORMS(*res, raw);
    // RFC 9110 11.2, 11.5: auth-param values as quoted-strings, each name once.
    const QString challenge = QString::fromStdString(field(*res, "WWW-Authenticate"));
    QVERIFY2(QRegularExpression(QStringLiteral("^Bearer realm=\"[^\"]*\"(, error=\"[a-z_]+\")?$"))
                 .match(challenge)
                 .hasMatch(),
             qPrintable(challenge));
    c.close();
    g.stop();
}

QTEST_GUILESS_MAIN(TestConformance)
#include "test_conformance.moc"
