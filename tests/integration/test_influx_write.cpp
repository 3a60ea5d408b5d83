// SPDX-License-Identifier: GPL-3.0-or-later
// InfluxDB line protocol over HTTP (issue 17) with real curl against a real gateway on loopback: POST /write
// and /api/v2/write store measurement.field readings per device, gzip bodies, precision, a 400 that names the
// line and stores nothing of the request, the JSON endpoint's size limit, and device tokens in each form
// InfluxDB's clients send them (Token, Basic, u/p).
#include "core/auth/tokens.hpp"
#include "core/gateway.hpp"
#include "support/http_client.hpp"

#include <QProcess>
#include <QTemporaryDir>
#include <QTest>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <fstream>

using namespace fleetscope;
using namespace fleetscope::testing;
namespace json = boost::json;

namespace {

struct CurlResult {
    int status = 0;
    std::string body;
};

/// curl with `args`; the status code and body of its answer (status 0 when curl failed).
CurlResult curl(const QStringList& args)
{
    QProcess p;
    p.start(QStringLiteral("curl"),
            QStringList{QStringLiteral("-sS"), QStringLiteral("-o"), QStringLiteral("-"),
                        QStringLiteral("-w"), QStringLiteral("\n%{http_code}")} +
                args);
    if (!p.waitForFinished(30'000))
        return {};
    const std::string out = p.readAllStandardOutput().toStdString();
    const auto nl = out.rfind('\n');
    if (nl == std::string::npos)
        return {};
    return {std::atoi(out.c_str() + nl + 1), out.substr(0, nl)};
}

/// The readings of `device` and `metric` as GET /v1/devices/{device}/samples returns them: (ts, value).
std::vector<std::pair<std::int64_t, double>> readings(std::uint16_t port, const std::string& device,
                                                      const std::string& metric)
{
    HttpClient c;
    if (!c.connect(port))
        return {};
    return device_readings(c, device, metric).value_or(std::vector<std::pair<std::int64_t, double>>{});
}

std::string metrics_text(std::uint16_t port)
{
    HttpClient c;
    if (!c.connect(port))
        return {};
    const auto r = c.request(get("/metrics"));
    return r ? std::string(r->body()) : std::string();
}

std::string error_of(const CurlResult& r)
{
    boost::system::error_code ec;
    const json::value v = json::parse(r.body, ec);
    if (ec || !v.is_object() || !v.as_object().contains("error"))
        return {};
    return std::string(v.at("error").as_string());
}

} // namespace

class TestInfluxWrite : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void cleanupTestCase();

    void v1StoresMeasurementFields();
    void v2GzipBody();
    void precision_data();
    void precision();
    void badLineNamesItAndStoresNothing();
    void bodyOverLimitIs413();
    void tokens_data();
    void tokens();
    void tokenOfAnotherDeviceStoresNothing();

private:
    QString url(const char* path, std::uint16_t port) const
    {
        return QStringLiteral("http://127.0.0.1:%1%2").arg(port).arg(QLatin1String(path));
    }
    std::string write_file(const char* name, const std::string& text)
    {
        const std::string path = dir_.filePath(QLatin1String(name)).toStdString();
        std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
        return path;
    }

    QTemporaryDir dir_;
    std::unique_ptr<Gateway> open_;   // no tokens
    std::unique_ptr<Gateway> secure_; // device tokens on
    std::string token_a_;             // for device lp-a
};

void TestInfluxWrite::initTestCase()
{
    QVERIFY(dir_.isValid());
    QVERIFY2(QProcess::execute(QStringLiteral("curl"), {QStringLiteral("--version")}) == 0,
             "curl is missing: install it (packaging/setup-debian.sh)");
    Settings s;
    s.listen = "127.0.0.1:0";
    s.workers = 2;
    s.max_body_bytes = 64 * 1024;
    s.db_path = dir_.filePath(QStringLiteral("open.db")).toStdString();
    open_ = std::make_unique<Gateway>(s);
    open_->start();

    const std::string token_file = dir_.filePath(QStringLiteral("tokens")).toStdString();
    token_a_ = auth::add_token(token_file, "lp-a");
    s.db_path = dir_.filePath(QStringLiteral("secure.db")).toStdString();
    s.token_file = token_file;
    secure_ = std::make_unique<Gateway>(s);
    secure_->start();
}

void TestInfluxWrite::cleanupTestCase()
{
    open_.reset();
    secure_.reset();
}

void TestInfluxWrite::v1StoresMeasurementFields()
{
    const auto port = open_->port();
    // Telegraf's shape, with a comment, a blank line, escapes, every field type, and a line whose device is
    // its host tag.
    const std::string body =
        "# from telegraf\n"
        "cpu,device=pump-1,core=0 usage=12.5,count=7i,big=9u,on=true,note=\"a \\\"q\\\"\" "
        "1700000000000000000\n"
        "\n"
        "mem,host=pump-2,path=/a\\ b\\,c\\=d used=1e3,free=-2 1700000001000000000\r\n";
    const auto path = write_file("v1.lp", body);
    const auto r = curl({QStringLiteral("--data-binary"), QString::fromStdString("@" + path),
                         url("/write?db=telegraf&rp=autogen", port)});
    QCOMPARE(r.status, 204);

    QCOMPARE(readings(port, "pump-1", "cpu.usage"),
             (std::vector<std::pair<std::int64_t, double>>{{1'700'000'000'000, 12.5}}));
    QCOMPARE(readings(port, "pump-1", "cpu.count").at(0).second, 7.0);
    QCOMPARE(readings(port, "pump-1", "cpu.big").at(0).second, 9.0);
    QCOMPARE(readings(port, "pump-1", "cpu.on").at(0).second, 1.0);
    QVERIFY(readings(port, "pump-1", "cpu.note").empty());
    QCOMPARE(readings(port, "pump-2", "mem.used"),
             (std::vector<std::pair<std::int64_t, double>>{{1'700'000'001'000, 1000.0}}));
    QCOMPARE(readings(port, "pump-2", "mem.free").at(0).second, -2.0);
    // /metrics shows the sampler's latest snapshot, taken every sample-interval.
    QTRY_VERIFY(metrics_text(port).find("fleetscope_line_protocol_strings_skipped_total 1\n") !=
                std::string::npos);
    QTRY_VERIFY(metrics_text(port).find("fleetscope_line_protocol_samples_total 2\n") != std::string::npos);
}

void TestInfluxWrite::v2GzipBody()
{
    const auto port = open_->port();
    std::string body;
    for (int i = 0; i < 500; ++i)
        body += "env,device=gz-1 temp=" + std::to_string(20 + i % 5) + " " +
                std::to_string(1'700'000'100 + i) + "\n";
    const auto path = write_file("v2.lp", body);
    QCOMPARE(QProcess::execute(QStringLiteral("gzip"), {QStringLiteral("-kf"), QString::fromStdString(path)}),
             0);
    const auto r = curl({QStringLiteral("-H"), QStringLiteral("Content-Encoding: gzip"), QStringLiteral("-H"),
                         QStringLiteral("Content-Type: text/plain; charset=utf-8"),
                         QStringLiteral("--data-binary"), QString::fromStdString("@" + path + ".gz"),
                         url("/api/v2/write?org=lab&bucket=fleet&precision=s", port)});
    QCOMPARE(r.status, 204);
    const auto got = readings(port, "gz-1", "env.temp");
    QCOMPARE(got.size(), std::size_t(500));
    QCOMPARE(got.front().first, std::int64_t(1'700'000'100'000));
}

void TestInfluxWrite::precision_data()
{
    QTest::addColumn<QString>("precision");
    QTest::addColumn<QString>("stamp");
    QTest::addRow("ns") << "ns"
                        << "1700000200123456789";
    QTest::addRow("us") << "us"
                        << "1700000200123456";
    QTest::addRow("ms") << "ms"
                        << "1700000200123";
    QTest::addRow("s") << "s"
                       << "1700000200";
    QTest::addRow("v1 n") << "n"
                          << "1700000200123456789";
    QTest::addRow("v1 u") << "u"
                          << "1700000200123456";
}

void TestInfluxWrite::precision()
{
    QFETCH(QString, precision);
    QFETCH(QString, stamp);
    const auto port = open_->port();
    const std::string device = "prec-" + precision.toStdString();
    const auto r =
        curl({QStringLiteral("--data-binary"), QString::fromStdString("p,device=" + device + " v=1 ") + stamp,
              url("/write", port) + "?precision=" + precision});
    QCOMPARE(r.status, 204);
    const auto got = readings(port, device, "p.v");
    QCOMPARE(got.size(), std::size_t(1));
    QCOMPARE(got[0].first,
             precision == "s" ? std::int64_t(1'700'000'200'000) : std::int64_t(1'700'000'200'123));

    const auto bad = curl({QStringLiteral("--data-binary"), QStringLiteral("p,device=x v=1"),
                           url("/write?precision=week", port)});
    QCOMPARE(bad.status, 400);
    QVERIFY2(error_of(bad).find("precision") != std::string::npos, bad.body.c_str());
}

void TestInfluxWrite::badLineNamesItAndStoresNothing()
{
    const auto port = open_->port();
    const std::string body = "a,device=bad-1 v=1 1700000300000000000\n"
                             "a,device=bad-1 v=2 1700000301000000000\n"
                             "a,device=bad-1 v=oops 1700000302000000000\n";
    const auto r =
        curl({QStringLiteral("--data-binary"), QString::fromStdString(body), url("/api/v2/write", port)});
    QCOMPARE(r.status, 400);
    const std::string e = error_of(r);
    QVERIFY2(e.find("line 3") != std::string::npos && e.find("oops") != std::string::npos, r.body.c_str());
    QVERIFY(readings(port, "bad-1", "a.v").empty());

    const auto no_device =
        curl({QStringLiteral("--data-binary"), QStringLiteral("a,site=x v=1"), url("/write", port)});
    QCOMPARE(no_device.status, 400);
    QVERIFY2(error_of(no_device).find("line 1") != std::string::npos &&
                 error_of(no_device).find("'device' tag") != std::string::npos,
             no_device.body.c_str());
}

void TestInfluxWrite::bodyOverLimitIs413()
{
    std::string body;
    while (body.size() <= 64 * 1024)
        body += "big,device=big-1 v=1\n";
    const auto path = write_file("big.lp", body);
    const auto r = curl(
        {QStringLiteral("--data-binary"), QString::fromStdString("@" + path), url("/write", open_->port())});
    QCOMPARE(r.status, 413);
    QVERIFY(readings(open_->port(), "big-1", "big.v").empty());
}

void TestInfluxWrite::tokens_data()
{
    QTest::addColumn<QStringList>("auth");
    QTest::addColumn<QString>("query");
    QTest::addColumn<int>("status");
    const QString t = QString::fromStdString(token_a_);
    QTest::addRow("v2 Token") << QStringList{QStringLiteral("-H"), "Authorization: Token " + t} << QString()
                              << 204;
    QTest::addRow("Bearer") << QStringList{QStringLiteral("-H"), "Authorization: Bearer " + t} << QString()
                            << 204;
    QTest::addRow("v1 Basic") << QStringList{QStringLiteral("-u"), "telegraf:" + t} << QString() << 204;
    QTest::addRow("v1 u and p") << QStringList{} << "?u=telegraf&p=" + t << 204;
    QTest::addRow("none") << QStringList{} << QString() << 401;
    QTest::addRow("wrong token") << QStringList{QStringLiteral("-H"),
                                                QStringLiteral("Authorization: Token nope")}
                                 << QString() << 401;
    QTest::addRow("wrong p") << QStringList{} << QStringLiteral("?u=x&p=nope") << 401;
}

void TestInfluxWrite::tokens()
{
    QFETCH(QStringList, auth);
    QFETCH(QString, query);
    QFETCH(int, status);
    const auto port = secure_->port();
    static std::int64_t ts = 1'700'000'400;
    ++ts;
    const auto before = readings(port, "lp-a", "t.v").size();
    const auto r = curl(auth + QStringList{QStringLiteral("--data-binary"),
                                           QString::fromStdString("t,device=lp-a v=1 " + std::to_string(ts)),
                                           url("/write", port) +
                                               (query.isEmpty() ? "?precision=s" : query + "&precision=s")});
    QCOMPARE(r.status, status);
    QCOMPARE(readings(port, "lp-a", "t.v").size(), before + (status == 204 ? 1 : 0));
}

void TestInfluxWrite::tokenOfAnotherDeviceStoresNothing()
{
    const auto port = secure_->port();
    const auto before = readings(port, "lp-a", "x.v").size();
    const std::string body = "x,device=lp-a v=1\nx,device=lp-b v=2\n";
    const auto r =
        curl({QStringLiteral("-H"), QString::fromStdString("Authorization: Token " + token_a_),
              QStringLiteral("--data-binary"), QString::fromStdString(body), url("/api/v2/write", port)});
    QCOMPARE(r.status, 401);
    QVERIFY2(error_of(r).find("lp-b") != std::string::npos, r.body.c_str());
    QCOMPARE(readings(port, "lp-a", "x.v").size(), before);
}

QTEST_GUILESS_MAIN(TestInfluxWrite)
#include "test_influx_write.moc"
