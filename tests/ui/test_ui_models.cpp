// SPDX-License-Identifier: GPL-3.0-or-later
// The device table model and its proxy under QAbstractItemModelTester, the devices page's repaints, the live
// feed's coalescing and drop accounting through a real metrics::Subscription, and the overview's rate
// derivation.
#include "core/metrics/hub.hpp"
#include "ui/feed/live_feed.hpp"
#include "ui/feed/snapshot_deriver.hpp"
#include "ui/models/device_table_model.hpp"
#include "ui/pages/devices_page.hpp"
#include "ui/plots/live_plot.hpp"

#include <QAbstractItemModelTester>
#include <QPaintEvent>
#include <QSignalSpy>
#include <QTableView>
#include <QTest>

#include <cmath>

using namespace fleetscope;
using namespace fleetscope::ui;

namespace {

telemetry::Sample sample(const std::string& device, std::int64_t ts, std::vector<telemetry::Metric> metrics)
{
    return telemetry::Sample{device, ts, std::move(metrics)};
}

DeviceDelta delta(const std::string& device, std::int64_t ts, std::uint32_t n,
                  std::vector<telemetry::Metric> latest)
{
    DeviceDelta d;
    d.device = device;
    d.last_ts_ms = ts;
    d.samples = n;
    d.latest = std::move(latest);
    return d;
}

/// What a widget painted, collected from its paint events.
struct PaintLog : QObject {
    QRegion painted;
    bool eventFilter(QObject*, QEvent* event) override
    {
        if (event->type() == QEvent::Paint)
            painted += static_cast<QPaintEvent*>(event)->region();
        return false;
    }
};

/// A devices page over `model` holding `devices` devices named as a fleet names them, shown.
bool showPage(DevicesPage& page, DeviceTableModel& model, int devices)
{
    std::vector<DeviceDelta> all;
    for (int i = 0; i < devices; ++i)
        all.push_back(delta("sim-" + std::to_string(i), 0, 1, {{"t", 1.0}}));
    model.applyFrame(all, 1000);
    page.resize(900, 400);
    page.show();
    return QTest::qWaitForWindowExposed(&page);
}

} // namespace

class TestUiModels : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() { QLocale::setDefault(QLocale(QLocale::English, QLocale::UnitedStates)); }
    void modelUnderTester();
    void proxyFilterAndSort();
    void staleFlag();
    void countsFollowStatusChanges();
    void clockRepaintsOnlyLastSeen();
    void onlyChangedRowsOnScreenRepaint();
    void feedCoalescesPerDevice();
    void feedDropsOldestWhenLagging();
    void feedCountsCoreDrops();
    void deriverRates();
    void deriverUnavailableListenQueue();
    void deriverResetsOnRestart();
    void relativeAge_data();
    void relativeAge();
    void formatNumber_data();
    void formatNumber();
};

void TestUiModels::modelUnderTester()
{
    DeviceTableModel model;
    DeviceFilterProxy proxy;
    proxy.setSourceModel(&model);
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    QAbstractItemModelTester proxyTester(&proxy, QAbstractItemModelTester::FailureReportingMode::QtTest);
    proxy.sort(DeviceTableModel::ColSamples, Qt::DescendingOrder);

    model.applyFrame(
        {delta("pump-1", 1000, 1, {{"temp_c", 21.5}}), delta("pump-2", 1000, 2, {{"rssi", -60}})}, 1000);
    QCOMPARE(model.rowCount(), 2);
    QCOMPARE(model.columnCount(), DeviceTableModel::kFixedColumns + 2);
    model.applyFrame(
        {delta("pump-1", 2000, 3, {{"temp_c", 22.0}, {"volt", 3.3}}), delta("pump-3", 2000, 1, {})}, 2000);
    QCOMPARE(model.rowCount(), 3);
    QCOMPARE(model.columnCount(), DeviceTableModel::kFixedColumns + 3);
    const int row = model.rowOf(QStringLiteral("pump-1"));
    QVERIFY(row >= 0);
    QCOMPARE(
        model.data(model.index(row, DeviceTableModel::ColSamples), DeviceTableModel::SortRole).toULongLong(),
        4u);
    QCOMPARE(
        model.data(model.index(row, DeviceTableModel::kFixedColumns), DeviceTableModel::SortRole).toDouble(),
        22.0);
    // pump-1 leads the samples-descending proxy.
    QCOMPARE(proxy.data(proxy.index(0, DeviceTableModel::ColDevice)).toString(), QStringLiteral("pump-1"));
    model.addKnownDevices({{"old-1", 10, 20, 5}, {"pump-2", 1, 2, 3}});
    QCOMPARE(model.rowCount(), 4); // pump-2 was already live and is not duplicated
    model.setNow(5000);
    model.clear();
    QCOMPARE(model.rowCount(), 0);
    QCOMPARE(proxy.rowCount(), 0);
}

void TestUiModels::proxyFilterAndSort()
{
    DeviceTableModel model;
    DeviceFilterProxy proxy;
    proxy.setSourceModel(&model);
    QAbstractItemModelTester tester(&proxy, QAbstractItemModelTester::FailureReportingMode::QtTest);
    std::vector<DeviceDelta> frame;
    for (int i = 0; i < 200; ++i)
        frame.push_back(delta("dev-" + std::to_string(i), 1000, static_cast<std::uint32_t>(i % 7 + 1),
                              {{"v", static_cast<double>(i)}}));
    model.applyFrame(frame, 1000);
    proxy.setFilterText(QStringLiteral("DEV-1"));
    // dev-1, dev-10..19, dev-100..199: 1 + 10 + 100
    QCOMPARE(proxy.rowCount(), 111);
    proxy.setFilterText({});
    QCOMPARE(proxy.rowCount(), 200);
    proxy.sort(DeviceTableModel::kFixedColumns, Qt::DescendingOrder);
    QCOMPARE(proxy.data(proxy.index(0, DeviceTableModel::ColDevice)).toString(), QStringLiteral("dev-199"));
    proxy.sort(DeviceTableModel::ColSamples, Qt::AscendingOrder);
    double previous = -1;
    for (int r = 0; r < proxy.rowCount(); ++r) {
        const double v =
            proxy.data(proxy.index(r, DeviceTableModel::ColSamples), DeviceTableModel::SortRole).toDouble();
        QVERIFY(v >= previous);
        previous = v;
    }
    // Updates keep the sort order (dynamic sort).
    model.applyFrame({delta("dev-0", 2000, 100, {})}, 2000);
    QCOMPARE(proxy.data(proxy.index(proxy.rowCount() - 1, DeviceTableModel::ColDevice)).toString(),
             QStringLiteral("dev-0"));
}

void TestUiModels::staleFlag()
{
    DeviceTableModel model;
    DeviceFilterProxy proxy;
    proxy.setSourceModel(&model);
    QAbstractItemModelTester tester(&proxy, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.setStaleAfter(Millis(60'000));
    model.applyFrame({delta("a", 0, 1, {}), delta("b", 0, 1, {})}, 100'000);
    model.applyFrame({delta("b", 0, 1, {})}, 150'000);
    model.setNow(170'000); // a: 70 s quiet, b: 20 s
    QCOMPARE(model.staleCount(), std::size_t{1});
    QCOMPARE(model.liveCount(), std::size_t{1});
    const int a = model.rowOf(QStringLiteral("a"));
    QCOMPARE(model.data(model.index(a, DeviceTableModel::ColStatus)).toString(), QStringLiteral("stale"));
    QVERIFY(model.data(model.index(a, DeviceTableModel::ColDevice), DeviceTableModel::StaleRole).toBool());
    QCOMPARE(model.data(model.index(a, DeviceTableModel::ColLastSeen)).toString(),
             QStringLiteral("1 min 10 s ago"));
    proxy.setStaleOnly(true);
    QCOMPARE(proxy.rowCount(), 1);
    QCOMPARE(proxy.data(proxy.index(0, 0)).toString(), QStringLiteral("a"));
    model.setStaleAfter(Millis(100'000));
    QCOMPARE(model.staleCount(), std::size_t{0});
    QCOMPARE(proxy.rowCount(), 0);
}

void TestUiModels::countsFollowStatusChanges()
{
    DeviceTableModel model;
    model.setStaleAfter(Millis(60'000));
    QSignalSpy counts(&model, &DeviceTableModel::countsChanged);
    model.applyFrame({delta("a", 0, 1, {}), delta("b", 0, 1, {})}, 100'000);
    QCOMPARE(model.liveCount(), std::size_t{2});
    QCOMPARE(counts.count(), 1);
    // Updates that move no device between live, stale and offline announce nothing: the devices page then
    // redraws its summary only when it changes.
    model.applyFrame({delta("a", 0, 1, {})}, 101'000);
    model.setNow(102'000);
    QCOMPARE(counts.count(), 1);
    model.applyFrame({delta("b", 0, 1, {})}, 150'000);
    model.setNow(170'000); // a: 70 s quiet
    QCOMPARE(counts.count(), 2);
    QCOMPARE(model.liveCount(), std::size_t{1});
    QCOMPARE(model.staleCount(), std::size_t{1});
    model.applyFrame({delta("a", 0, 1, {})}, 171'000); // back
    QCOMPARE(counts.count(), 3);
    QCOMPARE(model.liveCount(), std::size_t{2});
    QCOMPARE(model.staleCount(), std::size_t{0});
    store::DeviceRow old;
    old.device = "c";
    old.last_seen = 1000;
    model.addKnownDevices({old});
    QCOMPARE(model.offlineCount(), std::size_t{1});
    QCOMPARE(model.liveCount(), std::size_t{2});
    model.clear();
    QCOMPARE(model.liveCount(), std::size_t{0});
    QCOMPARE(model.offlineCount(), std::size_t{0});
    QCOMPARE(counts.count(), 4);
}

void TestUiModels::clockRepaintsOnlyLastSeen()
{
    DeviceTableModel model;
    DevicesPage page(&model);
    QVERIFY(showPage(page, model, 200));
    QTableView* view = page.view();

    PaintLog log;
    view->viewport()->installEventFilter(&log);
    QCoreApplication::processEvents();
    log.painted = {};

    // A second passes with no update: the relative ages move, nothing else does.
    model.setNow(2000);
    QTRY_VERIFY(!log.painted.isEmpty());
    const QRect lastSeen(view->columnViewportPosition(DeviceTableModel::ColLastSeen), 0,
                         view->columnWidth(DeviceTableModel::ColLastSeen), view->viewport()->height());
    QCOMPARE(log.painted.boundingRect(), lastSeen);
    QCOMPARE(model.data(model.index(0, DeviceTableModel::ColLastSeen)).toString(), QStringLiteral("1 s ago"));
}

void TestUiModels::onlyChangedRowsOnScreenRepaint()
{
    // Sorted by name, neighbouring devices of a fleet are far apart in the table.
    DeviceTableModel model;
    DevicesPage page(&model);
    QVERIFY(showPage(page, model, 2000));
    QTableView* view = page.view();
    view->scrollTo(page.proxy()->index(1000, 0), QAbstractItemView::PositionAtTop);
    QCoreApplication::processEvents();
    const int first = view->rowAt(0);
    const int last = view->rowAt(view->viewport()->height() - 1);
    QVERIFY(first >= 0 && last > first);

    // Two devices updated together: next to each other in the model, one above the rows on screen and one
    // below them in the table.
    auto tableRow = [&](int source) { return page.proxy()->mapFromSource(model.index(source, 0)).row(); };
    int pair = -1;
    for (int i = 0; i + 1 < 2000 && pair < 0; ++i)
        if (tableRow(i) < first && tableRow(i + 1) > last)
            pair = i;
    QVERIFY(pair >= 0);

    PaintLog log;
    view->viewport()->installEventFilter(&log);
    QCoreApplication::processEvents();
    log.painted = {};

    model.applyFrame({delta("sim-" + std::to_string(pair), 0, 1, {{"t", 2.0}}),
                      delta("sim-" + std::to_string(pair + 1), 0, 1, {{"t", 2.0}})},
                     1100);
    QCoreApplication::processEvents();
    QVERIFY2(log.painted.isEmpty(), "no changed row is on screen");

    // A device on screen changes: its row, and only its row, is repainted.
    const int shown = first + 2;
    const int source = page.proxy()->mapToSource(page.proxy()->index(shown, 0)).row();
    model.applyFrame({delta(model.deviceAt(source).toStdString(), 0, 1, {{"t", 3.0}})}, 1200);
    QTRY_VERIFY(!log.painted.isEmpty());
    QCOMPARE(log.painted.boundingRect(),
             QRect(0, view->rowViewportPosition(shown), view->viewport()->width(), view->rowHeight(shown)));
}

void TestUiModels::feedCoalescesPerDevice()
{
    auto sub = std::make_shared<metrics::Subscription>(1024);
    LiveFeed feed;
    feed.setSubscription(sub);
    feed.setWatchedDevice("pump-2");
    sub->push_update(sample("pump-1", 1, {{"t", 1.0}}));
    sub->push_update(sample("pump-2", 2, {{"t", 2.0}, {"rssi", -50}}));
    sub->push_update(sample("pump-1", 3, {{"t", 3.0}}));
    sub->push_update(sample("pump-2", 4, {{"t", 4.0}}));
    metrics::Snapshot snap;
    snap.at_ms = 42;
    sub->push_snapshot(snap);

    const Frame& frame = feed.collect(1000);
    QCOMPARE(frame.updates, std::size_t{4});
    QCOMPARE(frame.dropped, std::size_t{0});
    QCOMPARE(frame.snapshots.size(), std::size_t{1});
    QCOMPARE(frame.snapshots[0].at_ms, 42);
    QCOMPARE(frame.devices.size(), std::size_t{2});
    const DeviceDelta& p1 = frame.devices[0];
    QCOMPARE(p1.device, std::string("pump-1"));
    QCOMPARE(p1.samples, 2u);
    QCOMPARE(p1.last_ts_ms, 3);
    QCOMPARE(p1.latest.size(), std::size_t{1});
    QCOMPARE(p1.latest[0].value, 3.0);
    const DeviceDelta& p2 = frame.devices[1];
    QCOMPARE(p2.latest.size(), std::size_t{2}); // t updated to the newest, rssi kept
    QCOMPARE(p2.latest[0].value, 4.0);
    QCOMPARE(p2.latest[1].value, -50.0);
    QCOMPARE(frame.watched.size(), std::size_t{2});
    QCOMPARE(frame.watched[0].device, std::string("pump-2")); // the watched samples keep what the table got
    QCOMPARE(frame.watched[0].metrics.size(), std::size_t{2});
    QCOMPARE(frame.watched[1].ts_ms, 4);

    QCOMPARE(feed.collect(2000).updates, std::size_t{0}); // the queues are empty now

    QSignalSpy spy(&feed, &LiveFeed::frameReady);
    sub->push_update(sample("pump-3", 5, {{"t", 5.0}}));
    feed.tick();
    QCOMPARE(spy.count(), 1);
    QVERIFY(feed.lastFrameMs() >= 0);
}

void TestUiModels::feedDropsOldestWhenLagging()
{
    auto sub = std::make_shared<metrics::Subscription>(1024);
    LiveFeed feed;
    feed.setSubscription(sub);
    feed.setMaxUpdatesPerFrame(10);
    for (int i = 0; i < 25; ++i)
        sub->push_update(sample("d" + std::to_string(i), i, {{"v", static_cast<double>(i)}}));
    const Frame& frame = feed.collect(1000);
    QCOMPARE(frame.updates, std::size_t{25});
    QCOMPARE(frame.dropped, std::size_t{15});
    QCOMPARE(frame.devices.size(), std::size_t{10});
    QCOMPARE(frame.devices.front().device, std::string("d15")); // the oldest went
    QCOMPARE(frame.devices.back().device, std::string("d24"));
    QCOMPARE(feed.droppedByUi(), std::uint64_t{15});
    QCOMPARE(feed.droppedTotal(), std::uint64_t{15});
}

void TestUiModels::feedCountsCoreDrops()
{
    auto sub = std::make_shared<metrics::Subscription>(16);
    LiveFeed feed;
    feed.setSubscription(sub);
    for (int i = 0; i < 40; ++i)
        sub->push_update(sample("d", i, {{"v", 1.0}}));
    QVERIFY(sub->dropped() > 0);
    const Frame& frame = feed.collect(1000);
    QCOMPARE(frame.updates + sub->dropped(), std::size_t{40});
    QCOMPARE(feed.droppedTotal(), sub->dropped());
}

void TestUiModels::deriverRates()
{
    SnapshotDeriver deriver(500);
    metrics::Snapshot a;
    a.at_ms = 10'000;
    a.uptime_ms = 1'000;
    a.accepted_total = 100;
    a.samples_committed = 1'000;
    a.responses_by_class[2] = 50;
    a.listen_queue = 3;
    a.listen_queue_limit = 4096;
    a.listen_overflows = 10;
    a.listen_drops = 10;
    a.workers.resize(2);
    a.workers[0].idle_ns = 0;
    a.workers[1].idle_ns = 0;
    a.workers[0].context_switches = 0;
    QVERIFY(!deriver.push(a));

    metrics::Snapshot b = a;
    b.at_ms = 10'250;
    b.ack_p99_ms = 9;
    QVERIFY(!deriver.push(b)); // not yet a period

    metrics::Snapshot c = a;
    c.at_ms = 10'500;
    c.uptime_ms = 1'500;
    c.accepted_total = 150;      // 50 in 0.5 s
    c.samples_committed = 2'000; // 1000 in 0.5 s
    c.responses_by_class[2] = 100;
    c.responses_by_class[5] = 1;
    c.listen_overflows = 12;
    c.ack_p50_ms = 1.5;
    c.ack_p99_ms = 4;
    c.connections_open = 7;
    c.workers[0].idle_ns = 250'000'000; // half of 0.5 s
    c.workers[1].idle_ns = 500'000'000;
    c.workers[0].context_switches = 500;
    c.workers[1].context_switches = 500;
    c.workers[0].fibers_alive = 3;
    c.workers[1].fibers_alive = 4;
    c.rss_bytes = 64 * 1024 * 1024;
    const auto p = deriver.push(c);
    QVERIFY(p);
    QCOMPARE(p->t, 10.5);
    QCOMPARE(p->accept_rate, 100.0);
    QCOMPARE(p->samples_rate, 2000.0);
    QCOMPARE(p->responses_rate[2], 100.0);
    QCOMPARE(p->responses_rate[5], 2.0);
    QCOMPARE(p->requests_rate, 102.0);
    QCOMPARE(p->ack_p50_ms, 1.5);
    QCOMPARE(p->ack_p99_ms, 9.0); // the worst p99 of the period
    QCOMPARE(p->listen_queue, 3.0);
    QCOMPARE(p->listen_overflows_rate, 4.0);
    QCOMPARE(p->listen_drops_rate, 0.0);
    QCOMPARE(p->idle_pct.size(), std::size_t{2});
    QCOMPARE(p->idle_pct[0], 50.0);
    QCOMPARE(p->idle_pct[1], 100.0);
    QCOMPARE(p->switches_rate, 2000.0);
    QCOMPARE(p->fibers_alive, 7.0);
    QCOMPARE(p->connections, 7.0);
    QCOMPARE(p->rss_mb, 64.0);
}

void TestUiModels::deriverUnavailableListenQueue()
{
    SnapshotDeriver deriver(100);
    metrics::Snapshot a;
    a.at_ms = 0;
    QVERIFY(!deriver.push(a));
    metrics::Snapshot b = a;
    b.at_ms = 100;
    const auto p = deriver.push(b);
    QVERIFY(p);
    QVERIFY(std::isnan(p->listen_queue));
    QVERIFY(std::isnan(p->listen_queue_limit));
    QVERIFY(std::isnan(p->listen_overflows_rate));
    QVERIFY(std::isnan(p->listen_drops_rate));
}

void TestUiModels::deriverResetsOnRestart()
{
    SnapshotDeriver deriver(100);
    metrics::Snapshot a;
    a.at_ms = 0;
    a.uptime_ms = 50'000;
    a.accepted_total = 1'000;
    QVERIFY(!deriver.push(a));
    metrics::Snapshot b;
    b.at_ms = 200;
    b.uptime_ms = 100; // a new gateway: totals restart from zero
    b.accepted_total = 5;
    QVERIFY(!deriver.push(b)); // becomes the new baseline instead of a negative rate
    metrics::Snapshot c = b;
    c.at_ms = 300;
    c.accepted_total = 15;
    const auto p = deriver.push(c);
    QVERIFY(p);
    QCOMPARE(p->accept_rate, 100.0);
}

void TestUiModels::relativeAge_data()
{
    QTest::addColumn<qint64>("ms");
    QTest::addColumn<QString>("text");
    QTest::addRow("now") << qint64(400) << QStringLiteral("just now");
    QTest::addRow("seconds") << qint64(12'300) << QStringLiteral("12 s ago");
    QTest::addRow("minutes") << qint64(185'000) << QStringLiteral("3 min 5 s ago");
    QTest::addRow("hours") << qint64(7'500'000) << QStringLiteral("2 h 5 min ago");
    QTest::addRow("days") << qint64(2 * 86'400'000 + 3 * 3'600'000) << QStringLiteral("2 d 3 h ago");
}

void TestUiModels::relativeAge()
{
    QFETCH(qint64, ms);
    QFETCH(QString, text);
    QCOMPARE(DeviceTableModel::relativeAge(ms), text);
}

void TestUiModels::formatNumber_data()
{
    QTest::addColumn<double>("value");
    QTest::addColumn<int>("decimals");
    QTest::addColumn<QString>("text");
    QTest::addRow("integer") << 42.0 << 2 << QStringLiteral("42");
    QTest::addRow("trailing zero") << 12.50 << 2 << QStringLiteral("12.5");
    QTest::addRow("grouped") << 23456.7 << 2 << QStringLiteral("23,457");
    QTest::addRow("small") << 0.125 << 3 << QStringLiteral("0.125");
    QTest::addRow("nan") << std::nan("") << 2 << QStringLiteral("–");
}

void TestUiModels::formatNumber()
{
    QFETCH(double, value);
    QFETCH(int, decimals);
    QFETCH(QString, text);
    QCOMPARE(fleetscope::ui::formatNumber(value, decimals), text);
}

QTEST_MAIN(TestUiModels)
#include "test_ui_models.moc"
