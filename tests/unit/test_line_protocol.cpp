// SPDX-License-Identifier: GPL-3.0-or-later
// The line-protocol parser (telemetry::decode_line_protocol) against tables: what each valid body yields, and
// what each invalid one is refused for (its line named). The HTTP endpoints are test_influx_write's.
#include "core/telemetry/line_protocol.hpp"

#include <QTest>

using namespace fleetscope;
using namespace fleetscope::telemetry;

namespace {

constexpr std::int64_t kNow = 1'732'630'000'123;

using Decoded = fleetscope::util::Result<LineProtocolSamples>;

/// One reading as a line: "device metric ts value"; a failure as "error: ...".
QStringList flatten(const Decoded& r)
{
    if (!r)
        return {QStringLiteral("error: ") + QString::fromStdString(r.error())};
    QStringList out;
    for (const auto& s : r->samples)
        for (const auto& m : s.metrics)
            out << QStringLiteral("%1 %2 %3 %4")
                       .arg(QString::fromStdString(s.device), QString::fromStdString(m.name))
                       .arg(s.ts_ms)
                       .arg(m.value);
    return out;
}

Decoded decode(const QByteArray& body, Precision p = Precision::ns, std::string_view fallback = {})
{
    LineProtocolOptions o;
    o.now_ms = kNow;
    o.precision = p;
    o.fallback_device = fallback;
    o.limits = {3, 4, 8};
    return decode_line_protocol(std::string_view(body.constData(), std::size_t(body.size())), o);
}

} // namespace

class TestLineProtocol : public QObject {
    Q_OBJECT
private slots:
    void valid_data();
    void valid();
    void invalid_data();
    void invalid();
    void precisions();
    void stringsAreCountedNotStored();
};

void TestLineProtocol::valid_data()
{
    QTest::addColumn<QByteArray>("body");
    QTest::addColumn<QStringList>("readings");
    QTest::addRow("float") << QByteArray("cpu,device=d1 u=1.5 1700000000000000000")
                           << QStringList{"d1 cpu.u 1700000000000 1.5"};
    QTest::addRow("types") << QByteArray("m,device=d v=-2i,w=3u,x=t,y=FALSE 1000000")
                           << QStringList{"d m.v 1 -2", "d m.w 1 3", "d m.x 1 1", "d m.y 1 0"};
    QTest::addRow("no timestamp") << QByteArray("m,device=d v=1") << QStringList{"d m.v 1732630000123 1"};
    QTest::addRow("host fallback") << QByteArray("m,host=h1 v=1 0") << QStringList{"h1 m.v 0 1"};
    QTest::addRow("device beats host")
        << QByteArray("m,host=h1,device=d2 v=1 0") << QStringList{"d2 m.v 0 1"};
    QTest::addRow("escaped tag") << QByteArray("m,path=a\\ b\\,c\\=d,device=d v=1 0")
                                 << QStringList{"d m.v 0 1"};
    QTest::addRow("comments, blank, CRLF")
        << QByteArray("# c\n\n  # indented\r\nm,device=d v=1 0\r\n") << QStringList{"d m.v 0 1"};
    QTest::addRow("repeated field keeps last")
        << QByteArray("m,device=d v=1,v=2 0") << QStringList{"d m.v 0 2"};
    QTest::addRow("string with escapes")
        << QByteArray("m,device=d s=\"a \\\"b\\\", c=d\",v=1 0") << QStringList{"d m.v 0 1"};
    QTest::addRow("two lines") << QByteArray("a,device=d v=1 0\nb,device=e w=2 1000000")
                               << QStringList{"d a.v 0 1", "e b.w 1 2"};
}

void TestLineProtocol::valid()
{
    QFETCH(QByteArray, body);
    QFETCH(QStringList, readings);
    const auto r = decode(body);
    QVERIFY2(r.ok(), r.error().c_str());
    QCOMPARE(flatten(r), readings);
    for (const auto& s : r->samples)
        QCOMPARE(s.source, Source::line_protocol);
}

void TestLineProtocol::invalid_data()
{
    QTest::addColumn<QByteArray>("body");
    QTest::addColumn<QString>("error");
    QTest::addRow("no fields") << QByteArray("m,device=d") << "line 1, column 11: expected a space";
    QTest::addRow("bad value") << QByteArray("m,device=d v=1\nm,device=d v=x")
                               << "line 2, column 14: field \"v\"";
    QTest::addRow("no device") << QByteArray("m,site=s v=1") << "no 'device' tag (nor 'host')";
    QTest::addRow("bad device") << QByteArray("m,device=a/b v=1") << "device \"a/b\"";
    QTest::addRow("bad metric name") << QByteArray("m\\ n,device=d v=1") << "metric \"m n.v\"";
    QTest::addRow("unterminated string") << QByteArray("m,device=d s=\"abc") << "unterminated string";
    QTest::addRow("bad timestamp") << QByteArray("m,device=d v=1 12x") << "integer timestamp";
    QTest::addRow("negative timestamp") << QByteArray("m,device=d v=1 -5000000") << "before 1970";
    QTest::addRow("trailing text") << QByteArray("m,device=d v=1 5 6") << "after the timestamp";
    QTest::addRow("nan") << QByteArray("m,device=d v=nan") << "expected a float";
    QTest::addRow("too many fields") << QByteArray("m,device=d a=1,b=2,c=3,d=4,e=5") << "max-metrics = 4";
    QTest::addRow("too many lines") << QByteArray(
                                           "m,device=d v=1\nm,device=d v=1\nm,device=d v=1\nm,device=d v=1")
                                    << "line 4: more than max-samples = 3";
    QTest::addRow("empty tag value") << QByteArray("m,device= v=1") << "expected a value for the tag";
    QTest::addRow("unsigned negative") << QByteArray("m,device=d v=-1u") << "expected a float";
}

void TestLineProtocol::invalid()
{
    QFETCH(QByteArray, body);
    QFETCH(QString, error);
    const auto r = decode(body);
    QVERIFY(!r.ok());
    QVERIFY2(QString::fromStdString(r.error()).contains(error), r.error().c_str());
    QVERIFY(r.error().ends_with("nothing from this request was stored"));
}

void TestLineProtocol::precisions()
{
    QCOMPARE(flatten(decode("m,device=d v=1 1700000000", Precision::s)),
             QStringList{"d m.v 1700000000000 1"});
    QCOMPARE(flatten(decode("m,device=d v=1 2", Precision::h)), QStringList{"d m.v 7200000 1"});
    QCOMPARE(flatten(decode("m,device=d v=1 1500", Precision::us)), QStringList{"d m.v 1 1"});
    QVERIFY(!decode("m,device=d v=1 9223372036854775807", Precision::s).ok());
    // Far in the past is refused too, without a signed overflow first (found by fuzz_line_protocol).
    QVERIFY(!decode("m,device=d v=1 -9223312036854775807", Precision::h).ok());
    QVERIFY(!decode("m,device=d v=1 -9223372036854775808", Precision::s).ok());
    QCOMPARE(parse_precision("n"), std::optional(Precision::ns));
    QCOMPARE(parse_precision("u"), std::optional(Precision::us));
    QCOMPARE(parse_precision("week"), std::nullopt);
    // A fallback device (MQTT: the topic's) for a line without the tag.
    QCOMPARE(flatten(decode("m v=1 0", Precision::ns, "topic-dev")), QStringList{"topic-dev m.v 0 1"});
}

void TestLineProtocol::stringsAreCountedNotStored()
{
    const auto r = decode("m,device=d s=\"x\",t=\"y\"\nm,device=d s=\"z\",v=1 0");
    QVERIFY2(r.ok(), r.error().c_str());
    QCOMPARE(r->strings_skipped, std::size_t(3));
    QCOMPARE(flatten(r), QStringList{"d m.v 0 1"});
}

QTEST_APPLESS_MAIN(TestLineProtocol)
#include "test_line_protocol.moc"
