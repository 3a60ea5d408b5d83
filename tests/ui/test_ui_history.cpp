// SPDX-License-Identifier: GPL-3.0-or-later
// The device detail's history reader against a real store file: what the store committed (both in its
// compacted table and its recent tail) comes back in time order through a separate read-only connection.
#include "core/store/store.hpp"
#include "ui/feed/history_reader.hpp"

#include <QFile>
#include <QTemporaryDir>
#include <QTest>

#include <atomic>
#include <limits>

using namespace fleetscope;
using namespace fleetscope::ui;

class TestUiHistory : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void readsCommittedSamplesInTimeOrder();
    void rangeAndLimit_data();
    void rangeAndLimit();
    void knownDevices();
    void whileTheStoreIsOpen();
    void errorsNameTheProblem_data();
    void errorsNameTheProblem();

private:
    QTemporaryDir dir_;
    std::string path_;
};

void TestUiHistory::initTestCase()
{
    QVERIFY(dir_.isValid());
    path_ = dir_.filePath(QStringLiteral("fleet.db")).toStdString();
    store::Options options;
    options.path = path_;
    const auto opened = store::open_store(options);
    store::Writer& store = opened->writer();
    std::atomic<int> committed{0};
    // pump-1: metrics a and b at ts 1000..1099 (200 rows); pump-2: one sample.
    for (int i = 0; i < 100; ++i) {
        std::vector<telemetry::Sample> batch{telemetry::Sample{
            "pump-1", 1000 + i, {{"a", static_cast<double>(i)}, {"b", -static_cast<double>(i)}}}};
        QVERIFY(store.submit(std::move(batch), [&](store::CommitStatus s) {
            if (s == store::CommitStatus::committed)
                ++committed;
        }));
    }
    QVERIFY(store.submit({telemetry::Sample{"pump-2", 5000, {{"a", 1.0}}}},
                         [&](store::CommitStatus) { ++committed; }));
    store.stop();
    QCOMPARE(committed.load(), 101);
}

void TestUiHistory::readsCommittedSamplesInTimeOrder()
{
    HistoryRequest request;
    request.db_path = path_;
    request.device = "pump-1";
    request.from_ms = 0;
    request.to_ms = std::numeric_limits<std::int64_t>::max();
    const HistoryResult read = readHistory(request);
    QVERIFY2(read.ok(), read.error().c_str());
    const History& result = *read;
    QCOMPARE(result.rows.size(), std::size_t{200});
    QVERIFY(!result.truncated);
    for (std::size_t i = 1; i < result.rows.size(); ++i)
        QVERIFY(result.rows[i - 1].ts <= result.rows[i].ts);
    QCOMPARE(result.rows.front().ts, 1000);
    QCOMPARE(result.rows.back().ts, 1099);
    for (const store::SampleRow& row : result.rows)
        QCOMPARE(row.value, row.metric == "a" ? double(row.ts - 1000) : -double(row.ts - 1000));
}

void TestUiHistory::rangeAndLimit_data()
{
    QTest::addColumn<qint64>("from");
    QTest::addColumn<qint64>("to");
    QTest::addColumn<int>("limit");
    QTest::addColumn<int>("rows");
    QTest::addColumn<bool>("truncated");
    QTest::addColumn<qint64>("first");
    QTest::addRow("inclusive range") << qint64(1010) << qint64(1019) << 1000 << 20 << false << qint64(1010);
    QTest::addRow("limit keeps the newest")
        << qint64(0) << qint64(1'000'000) << 10 << 10 << true << qint64(1095);
    QTest::addRow("empty range") << qint64(2000) << qint64(3000) << 1000 << 0 << false << qint64(0);
}

void TestUiHistory::rangeAndLimit()
{
    QFETCH(qint64, from);
    QFETCH(qint64, to);
    QFETCH(int, limit);
    QFETCH(int, rows);
    QFETCH(bool, truncated);
    QFETCH(qint64, first);
    HistoryRequest request{path_, "pump-1", from, to, static_cast<std::size_t>(limit)};
    const HistoryResult read = readHistory(request);
    QVERIFY2(read.ok(), read.error().c_str());
    const History& result = *read;
    QCOMPARE(static_cast<int>(result.rows.size()), rows);
    QCOMPARE(result.truncated, truncated);
    if (rows > 0)
        QCOMPARE(result.rows.front().ts, first);
}

void TestUiHistory::knownDevices()
{
    const KnownDevicesResult result = readKnownDevices(path_);
    QVERIFY2(result.ok(), result.error().c_str());
    const std::vector<store::DeviceRow>& rows = *result;
    QCOMPARE(rows.size(), std::size_t{2});
    QCOMPARE(rows[0].device, std::string("pump-1"));
    QCOMPARE(rows[0].samples, 100);
    QCOMPARE(rows[0].last_seen, 1099);
    QCOMPARE(rows[1].device, std::string("pump-2"));
}

void TestUiHistory::whileTheStoreIsOpen()
{
    // The gateway holds the store open while the monitor reads: rows still in `recent` must be seen too.
    const std::string path = dir_.filePath(QStringLiteral("open.db")).toStdString();
    store::Options options;
    options.path = path;
    const auto opened = store::open_store(options);
    store::Writer& store = opened->writer();
    std::atomic<int> committed{0};
    QVERIFY(
        store.submit({telemetry::Sample{"d", 42, {{"x", 4.5}}}}, [&](store::CommitStatus) { ++committed; }));
    QTRY_COMPARE(committed.load(), 1);
    const HistoryResult result = readHistory({path, "d", 0, 100, 10});
    QVERIFY2(result.ok(), result.error().c_str());
    QCOMPARE(result->rows.size(), std::size_t{1});
    QCOMPARE(result->rows[0].value, 4.5);
    store.stop();
}

void TestUiHistory::errorsNameTheProblem_data()
{
    QTest::addColumn<QString>("file");
    QTest::addColumn<QString>("expected");
    QTest::addRow("missing file") << "missing.db"
                                  << "cannot open";
    QTest::addRow("not a store") << "plain.db"
                                 << "schema version";
}

void TestUiHistory::errorsNameTheProblem()
{
    QFETCH(QString, file);
    QFETCH(QString, expected);
    const QString path = dir_.filePath(file);
    if (file == QLatin1String("plain.db")) {
        QFile f(path);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.close(); // an empty file is a valid, empty SQLite database of user_version 0
    }
    const HistoryResult result = readHistory({path.toStdString(), "d", 0, 1, 1});
    QVERIFY(!result.ok());
    QVERIFY2(QString::fromStdString(result.error()).contains(expected), result.error().c_str());
    const KnownDevicesResult devices = readKnownDevices(path.toStdString());
    QVERIFY(!devices.ok());
    QVERIFY2(QString::fromStdString(devices.error()).contains(expected), devices.error().c_str());
}

QTEST_MAIN(TestUiHistory)
#include "test_ui_history.moc"
