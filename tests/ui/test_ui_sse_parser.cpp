// SPDX-License-Identifier: GPL-3.0-or-later
// SseParser, the monitor's reader of GET /v1/stream bodies: the event-stream format's fields, line ends and
// comments, whatever pieces the bytes arrive in (every split point of each input is tried).
#include "ui/feed/remote/sse_parser.hpp"

#include <QTest>

using namespace fleetscope::ui;

class TestSseParser : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void events_data();
    void events();
    void resetForgetsAPartialEvent();
};

void TestSseParser::events_data()
{
    QTest::addColumn<QByteArray>("input");
    QTest::addColumn<QByteArrayList>("expected"); // "name|data" per event dispatched

    QTest::addRow("one event") << QByteArray("event: snapshot\ndata: {\"a\":1}\n\n")
                               << QByteArrayList{"snapshot|{\"a\":1}"};
    QTest::addRow("two events") << QByteArray("event: hello\ndata: 1\n\nevent: lag\ndata: 2\n\n")
                                << QByteArrayList{"hello|1", "lag|2"};
    QTest::addRow("CRLF line ends") << QByteArray("event: a\r\ndata: x\r\n\r\n") << QByteArrayList{"a|x"};
    QTest::addRow("CR line ends") << QByteArray("event: a\rdata: x\r\r") << QByteArrayList{"a|x"};
    QTest::addRow("no event field is a message") << QByteArray("data: x\n\n") << QByteArrayList{"message|x"};
    QTest::addRow("data lines joined by LF")
        << QByteArray("data: a\ndata: b\n\n") << QByteArrayList{"message|a\nb"};
    QTest::addRow("no space after the colon") << QByteArray("event:e\ndata:x\n\n") << QByteArrayList{"e|x"};
    QTest::addRow("only the first space goes") << QByteArray("data:  x\n\n") << QByteArrayList{"message| x"};
    QTest::addRow("comments and unknown fields ignored")
        << QByteArray(": keep-alive\nid: 7\nretry: 10\nevent: e\ndata: x\n\n") << QByteArrayList{"e|x"};
    QTest::addRow("no data, no event") << QByteArray("event: e\n\n: c\n\n") << QByteArrayList{};
    QTest::addRow("unfinished event waits") << QByteArray("event: e\ndata: x\n") << QByteArrayList{};
    QTest::addRow("event name does not carry over")
        << QByteArray("event: e\ndata: 1\n\ndata: 2\n\n") << QByteArrayList{"e|1", "message|2"};
}

void TestSseParser::events()
{
    QFETCH(QByteArray, input);
    QFETCH(QByteArrayList, expected);
    for (qsizetype split = 0; split <= input.size(); ++split) {
        QByteArrayList got;
        SseParser parser(
            [&got](const QByteArray& event, const QByteArray& data) { got << event + '|' + data; });
        parser.feed(QByteArrayView(input).first(split));
        parser.feed(QByteArrayView(input).sliced(split));
        QVERIFY2(
            got == expected,
            qPrintable(QStringLiteral("split at %1: %2").arg(split).arg(QString::fromUtf8(got.join(',')))));
    }
    // One byte at a time.
    QByteArrayList got;
    SseParser parser([&got](const QByteArray& event, const QByteArray& data) { got << event + '|' + data; });
    for (char c : input)
        parser.feed(QByteArrayView(&c, 1));
    QCOMPARE(got, expected);
}

void TestSseParser::resetForgetsAPartialEvent()
{
    QByteArrayList got;
    SseParser parser([&got](const QByteArray& event, const QByteArray& data) { got << event + '|' + data; });
    parser.feed("event: old\ndata: partial");
    parser.reset();
    parser.feed("data: new\n\n");
    QCOMPARE(got, QByteArrayList{"message|new"});
}

QTEST_GUILESS_MAIN(TestSseParser)
#include "test_ui_sse_parser.moc"
