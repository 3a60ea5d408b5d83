// SPDX-License-Identifier: GPL-3.0-or-later
// core/util: the one clock, ISO-8601 formatter, identifier check, glob dialect and Result, each once for the
// exporter, the alert rules, the telemetry decoder, the settings and the store.
#include "core/util/clock.hpp"
#include "core/util/glob.hpp"
#include "core/util/identifier.hpp"
#include "core/util/iso_time.hpp"
#include "core/util/result.hpp"

#include <QDateTime>
#include <QTest>

#include <string>
#include <vector>

using namespace fleetscope;

class TestUtil : public QObject {
    Q_OBJECT
private slots:
    void clockIsTheWallClock();
    void isoTime_data();
    void isoTime();
    void isoTimeAppends();
    void identifier_data();
    void identifier();
    void globMatch_data();
    void globMatch();
    void validGlob_data();
    void validGlob();
    void result();
};

void TestUtil::clockIsTheWallClock()
{
    // Qt reads the same system clock: the two agree to within the time between the reads.
    const qint64 before = QDateTime::currentMSecsSinceEpoch();
    const std::int64_t now = util::now_ms();
    const qint64 after = QDateTime::currentMSecsSinceEpoch();
    QVERIFY2(before <= now && now <= after,
             qPrintable(QStringLiteral("%1 <= %2 <= %3").arg(before).arg(now).arg(after)));
}

void TestUtil::isoTime_data()
{
    QTest::addColumn<qint64>("ms");
    QTest::addColumn<QString>("iso");
    QTest::addRow("epoch") << qint64{0} << "1970-01-01T00:00:00.000Z";
    QTest::addRow("with ms") << qint64{1732630000123} << "2024-11-26T14:06:40.123Z";
    QTest::addRow("leap day") << qint64{951782400999} << "2000-02-29T00:00:00.999Z";
    QTest::addRow("just before the epoch") << qint64{-1} << "1969-12-31T23:59:59.999Z";
    QTest::addRow("year 10000") << qint64{253402300800000} << "10000-01-01T00:00:00.000Z";
}

void TestUtil::isoTime()
{
    QFETCH(qint64, ms);
    QFETCH(QString, iso);
    QCOMPARE(QString::fromStdString(util::format_iso_time(ms)), iso);
    // Qt's formatter agrees wherever it has an answer.
    if (ms >= 0 && ms < 253402300800000)
        QCOMPARE(QDateTime::fromMSecsSinceEpoch(ms, Qt::UTC).toString(Qt::ISODateWithMs), iso);
}

void TestUtil::isoTimeAppends()
{
    std::string out = "at ";
    util::append_iso_time(out, 1000);
    QCOMPARE(QString::fromStdString(out), QStringLiteral("at 1970-01-01T00:00:01.000Z"));
}

void TestUtil::identifier_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<int>("maxLen");
    QTest::addColumn<bool>("valid");
    QTest::addColumn<bool>("charsOnly");
    QTest::addRow("every allowed kind") << "Pump-7_a.b:c" << 64 << true << true;
    QTest::addRow("empty") << "" << 64 << false << true;
    QTest::addRow("at the limit") << QString(8, 'a') << 8 << true << true;
    QTest::addRow("over the limit") << QString(9, 'a') << 8 << false << true;
    QTest::addRow("space") << "a b" << 64 << false << false;
    QTest::addRow("slash") << "a/b" << 64 << false << false;
    QTest::addRow("glob star") << "a*" << 64 << false << false;
    QTest::addRow("non-ASCII") << QString::fromUtf8("caf\xc3\xa9") << 64 << false << false;
}

void TestUtil::identifier()
{
    QFETCH(QString, text);
    QFETCH(int, maxLen);
    QFETCH(bool, valid);
    QFETCH(bool, charsOnly);
    const std::string s = text.toStdString();
    QCOMPARE(util::valid_identifier(s, static_cast<std::size_t>(maxLen)), valid);
    QCOMPARE(util::identifier_chars_only(s), charsOnly);
    static_assert(util::is_identifier_char('a') && util::is_identifier_char(':') &&
                  !util::is_identifier_char('/'));
}

void TestUtil::globMatch_data()
{
    QTest::addColumn<QString>("pattern");
    QTest::addColumn<QString>("text");
    QTest::addColumn<bool>("match");
    QTest::addRow("literal") << "pump-7"
                             << "pump-7" << true;
    QTest::addRow("literal, longer text") << "pump-7"
                                          << "pump-77" << false;
    QTest::addRow("star, any run") << "pump-*"
                                   << "pump-123" << true;
    QTest::addRow("star, empty run") << "pump-*"
                                     << "pump-" << true;
    QTest::addRow("star in the middle") << "a*z"
                                        << "abcz" << true;
    QTest::addRow("star needs the tail") << "a*z"
                                         << "azx" << false;
    QTest::addRow("backtracks") << "*ab"
                                << "aab" << true;
    QTest::addRow("question, one") << "pump-?"
                                   << "pump-1" << true;
    QTest::addRow("question, not none") << "pump-?"
                                        << "pump-" << false;
    QTest::addRow("range") << "pump-[1-3]"
                           << "pump-2" << true;
    QTest::addRow("range, outside") << "pump-[1-3]"
                                    << "pump-4" << false;
    QTest::addRow("set of members") << "[abc]x"
                                    << "bx" << true;
    QTest::addRow("negated with !") << "[!0-9]*"
                                    << "a1" << true;
    QTest::addRow("negated with !, member") << "[!0-9]*"
                                            << "1a" << false;
    QTest::addRow("negated with ^") << "[^a]"
                                    << "b" << true;
    QTest::addRow("] first is a member") << "[]a]"
                                         << "]" << true;
    QTest::addRow("unclosed [ is literal") << "a[b"
                                           << "a[b" << true;
    QTest::addRow("unclosed [ is literal, mismatch") << "a[b"
                                                     << "ab" << false;
    QTest::addRow("set then star") << "[a-c]*-[0-9]"
                                   << "bravo-7" << true;
    QTest::addRow("empty pattern, empty text") << ""
                                               << "" << true;
    QTest::addRow("empty pattern") << ""
                                   << "a" << false;
}

void TestUtil::globMatch()
{
    QFETCH(QString, pattern);
    QFETCH(QString, text);
    QFETCH(bool, match);
    QCOMPARE(util::glob_match(pattern.toStdString(), text.toStdString()), match);
}

void TestUtil::validGlob_data()
{
    QTest::addColumn<QString>("pattern");
    QTest::addColumn<bool>("valid");
    QTest::addRow("star") << "*" << true;
    QTest::addRow("identifier") << "pump-7" << true;
    QTest::addRow("star and question") << "pump-?1*" << true;
    QTest::addRow("range") << "pump-[1-3]" << true;
    QTest::addRow("negated set") << "[!a-z]*" << true;
    QTest::addRow("caret set") << "[^a]" << true;
    QTest::addRow("empty") << "" << false;
    QTest::addRow("too long") << QString(129, 'a') << false;
    QTest::addRow("slash") << "pump/1" << false;
    QTest::addRow("unclosed set") << "pump-[1-3" << false;
    QTest::addRow("empty set") << "pump-[]" << false;
    QTest::addRow("negated empty set") << "[!]" << false;
    QTest::addRow("star in a set") << "[*]" << false;
    QTest::addRow("stray ]") << "a]" << false;
}

void TestUtil::validGlob()
{
    QFETCH(QString, pattern);
    QFETCH(bool, valid);
    QCOMPARE(util::valid_glob(pattern.toStdString(), 128), valid);
}

namespace {

util::Result<int> parse_port(const std::string& text)
{
    if (text.empty() || text.size() > 5 || text.find_first_not_of("0123456789") != std::string::npos)
        return util::fail("port: expected 1 to 65535, got '" + text + "'");
    const int port = std::stoi(text);
    if (port < 1 || port > 65535)
        return util::fail("port: expected 1 to 65535, got '" + text + "'");
    return port;
}

util::Result<void> check_even(int n)
{
    if (n % 2 != 0)
        return util::fail(std::to_string(n) + " is odd");
    return {};
}

} // namespace

void TestUtil::result()
{
    const auto good = parse_port("8080");
    QVERIFY(good.ok());
    QVERIFY(static_cast<bool>(good));
    QCOMPARE(*good, 8080);
    QCOMPARE(good.error(), std::string());

    const auto bad = parse_port("99999");
    QVERIFY(!bad.ok());
    QCOMPARE(bad.error(), std::string("port: expected 1 to 65535, got '99999'"));

    util::Result<std::vector<std::string>> names = std::vector<std::string>{"a", "b"};
    QCOMPARE(names->size(), std::size_t{2});
    const std::vector<std::string> moved = std::move(names).value();
    QCOMPARE(moved.back(), std::string("b"));

    QVERIFY(check_even(4).ok());
    QCOMPARE(check_even(4).error(), std::string());
    const auto odd = check_even(3);
    QVERIFY(!odd);
    QCOMPARE(odd.error(), std::string("3 is odd"));
}

QTEST_GUILESS_MAIN(TestUtil)
#include "test_util.moc"
