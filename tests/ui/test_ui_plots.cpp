// SPDX-License-Identifier: GPL-3.0-or-later
// LivePlot behaviour (follow, pause, zoom, crosshair, export, trimming) and the dashboard fed through a real
// Subscription, offscreen.
#include "core/metrics/hub.hpp"
#include "ui/feed/live_feed.hpp"
#include "ui/pages/dashboard.hpp"
#include "ui/pages/overview_page.hpp"
#include "ui/plots/live_plot.hpp"
#include "ui/plots/time_window.hpp"
#include "ui/theme/theme.hpp"

#include <QFile>
#include <QImage>
#include <QSettings>
#include <QTemporaryDir>
#include <QTest>

using namespace fleetscope;
using namespace fleetscope::ui;

namespace {

/// Shows a plot at a fixed size and waits until it is on screen, where refresh() draws.
bool showPlot(LivePlot& plot)
{
    plot.resize(600, 300);
    plot.show();
    return QTest::qWaitForWindowExposed(&plot);
}

} // namespace

class TestUiPlots : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void followsWindowAndTrims();
    void replotsOnlyForAVisibleChange();
    void pauseFreezesButIngests();
    void zoomLeavesFollowUntilReset();
    void crosshairShowsExactValues();
    void unavailableOverlay();
    void exportPlot_data();
    void exportPlot();
    void themeRestylesPlots();
    void dashboardExportsWholeView();
    void overviewPlotsFollowSnapshots();

private:
    QTemporaryDir dir_;
};

void TestUiPlots::initTestCase()
{
    QVERIFY(dir_.isValid());
    QSettings::setDefaultFormat(QSettings::IniFormat);
    QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, dir_.path());
    Theme::instance().apply(ThemeKind::Dark);
}

void TestUiPlots::followsWindowAndTrims()
{
    TimeWindow window;
    window.setSeconds(60);
    LivePlot plot(QStringLiteral("t"), &window);
    QVERIFY(showPlot(plot));
    const int s = plot.addSeries(QStringLiteral("v"));
    const double now = nowSeconds();
    for (int i = 0; i < 100; ++i)
        plot.append(s, now - 100 + i, i);
    QVERIFY(plot.refresh(now, true));
    QCOMPARE(plot.xAxis->range().upper, now);
    QCOMPARE(plot.xAxis->range().lower, now - 60);
    QVERIFY(plot.yAxis->range().upper >= 99); // values in view reach 99
    plot.setRetentionSeconds(50);
    plot.refresh(now, true);
    QCOMPARE(plot.graph(s)->data()->size(), 50); // the points older than 50 s are gone
    QVERIFY(!plot.refresh(now)); // throttled: a second replot within kMinReplotIntervalMs waits
}

void TestUiPlots::replotsOnlyForAVisibleChange()
{
    TimeWindow window;
    window.setSeconds(60);
    LivePlot plot(QStringLiteral("t"), &window);
    QVERIFY(showPlot(plot));
    const int s = plot.addSeries(QStringLiteral("v"));
    const double now = nowSeconds();
    plot.append(s, now - 1, 1);
    QVERIFY(plot.refresh(now, true));
    const double secondsPerPixel = window.seconds() / plot.axisRect()->width();

    // Following the window with no new data: nothing to draw until the window has moved by a pixel.
    QTest::qWait(LivePlot::kMinReplotIntervalMs + 20);
    QVERIFY(!plot.refresh(now + secondsPerPixel / 4));
    QVERIFY(plot.refresh(now + secondsPerPixel * 1.5));
    QCOMPARE(plot.xAxis->range().upper, now + secondsPerPixel * 1.5);

    // A new point is drawn at the next refresh allowed, scrolled or not.
    QTest::qWait(LivePlot::kMinReplotIntervalMs + 20);
    plot.append(s, now + secondsPerPixel * 1.5, 2);
    QVERIFY(plot.refresh(now + secondsPerPixel * 1.6));

    // Every layer is logical, so a replot clears and composites one paint buffer, not one per buffered layer.
    for (int i = 0; i < plot.layerCount(); ++i)
        QCOMPARE(plot.layer(i)->mode(), QCPLayer::lmLogical);

    // Left alone after a zoom: only new data replots.
    plot.xAxis->scaleRange(0.5);
    QTest::qWait(LivePlot::kMinReplotIntervalMs + 20);
    plot.refresh(now + secondsPerPixel * 1.6, true);
    QTest::qWait(LivePlot::kMinReplotIntervalMs + 20);
    QVERIFY(!plot.refresh(now + 30));
}

void TestUiPlots::pauseFreezesButIngests()
{
    TimeWindow window;
    window.setSeconds(60);
    LivePlot plot(QStringLiteral("t"), &window);
    QVERIFY(showPlot(plot));
    const int s = plot.addSeries(QStringLiteral("v"));
    window.setPaused(true);
    const double frozen = window.pausedAt();
    plot.append(s, frozen + 5, 1);
    plot.refresh(frozen + 10, true);
    QCOMPARE(plot.xAxis->range().upper, frozen);
    QCOMPARE(plot.graph(s)->data()->size(), 1);
    window.setPaused(false);
    plot.refresh(frozen + 10, true);
    QCOMPARE(plot.xAxis->range().upper, frozen + 10);
}

void TestUiPlots::zoomLeavesFollowUntilReset()
{
    TimeWindow window;
    LivePlot plot(QStringLiteral("t"), &window);
    QVERIFY(showPlot(plot));
    plot.addSeries(QStringLiteral("v"));
    const double now = nowSeconds();
    plot.refresh(now, true);
    QVERIFY(plot.following());
    plot.xAxis->scaleRange(0.5); // what the mouse wheel does
    QVERIFY(!plot.following());
    const QCPRange zoomed = plot.xAxis->range();
    plot.refresh(now + 30, true);
    QCOMPARE(plot.xAxis->range(), zoomed);
    emit window.resetRequested();
    QVERIFY(plot.following());
    QCOMPARE(plot.xAxis->range().size(), window.seconds());
}

void TestUiPlots::crosshairShowsExactValues()
{
    TimeWindow window;
    window.setSeconds(60);
    LivePlot plot(QStringLiteral("t"), &window);
    QVERIFY(showPlot(plot));
    const int s = plot.addSeries(QStringLiteral("temp_c"));
    const double now = std::floor(nowSeconds());
    for (int i = 0; i <= 60; ++i)
        plot.append(s, now - 60 + i, 20.0 + i / 1000.0);
    plot.refresh(now, true);
    const QRect rect = plot.axisRect()->rect();
    const int x = static_cast<int>(plot.xAxis->coordToPixel(now - 30));
    QTest::mouseMove(&plot, QPoint(x, rect.center().y()));
    QTRY_VERIFY(!plot.crosshairText().isEmpty());
    QVERIFY2(plot.crosshairText().contains(QStringLiteral("temp_c: 20.03")),
             qPrintable(plot.crosshairText()));
    // Still there after live refreshes: the crosshair works while the plot scrolls.
    plot.refresh(now + 1, true);
    QVERIFY(!plot.crosshairText().isEmpty());
    QCOMPARE(LivePlot::lastActive(), &plot);
}

void TestUiPlots::unavailableOverlay()
{
    TimeWindow window;
    LivePlot plot(QStringLiteral("t"), &window);
    const int s = plot.addSeries(QStringLiteral("q"));
    plot.setUnavailable(QStringLiteral("not available"));
    QVERIFY(plot.unavailable());
    QVERIFY(!plot.graph(s)->visible());
    plot.setUnavailable({});
    QVERIFY(plot.graph(s)->visible());
}

void TestUiPlots::exportPlot_data()
{
    QTest::addColumn<QString>("name");
    QTest::addColumn<QByteArray>("magic");
    QTest::addColumn<bool>("ok");
    QTest::addRow("png") << "plot.png" << QByteArray("\x89PNG") << true;
    QTest::addRow("pdf") << "plot.pdf" << QByteArray("%PDF") << true;
    QTest::addRow("unknown suffix") << "plot.bmpx" << QByteArray() << false;
}

void TestUiPlots::exportPlot()
{
    QFETCH(QString, name);
    QFETCH(QByteArray, magic);
    QFETCH(bool, ok);
    TimeWindow window;
    LivePlot plot(QStringLiteral("export"), &window);
    plot.resize(500, 250);
    const int s = plot.addSeries(QStringLiteral("v"));
    const double now = nowSeconds();
    plot.append(s, now - 1, 1);
    plot.append(s, now, 2);
    const QString path = dir_.filePath(name);
    const QString error = plot.exportTo(path);
    QCOMPARE(error.isEmpty(), ok);
    if (!ok) {
        QVERIFY(error.contains(QStringLiteral(".png or .pdf")));
        return;
    }
    QFile file(path);
    QVERIFY(file.open(QIODevice::ReadOnly));
    QVERIFY(file.read(magic.size()) == magic);
}

void TestUiPlots::themeRestylesPlots()
{
    TimeWindow window;
    LivePlot plot(QStringLiteral("t"), &window);
    plot.addSeries(QStringLiteral("v"));
    Theme::instance().apply(ThemeKind::Light);
    QCOMPARE(plot.legend->textColor(), Theme::colorsOf(ThemeKind::Light).text);
    QCOMPARE(plot.graph(0)->pen().color(), Theme::colorsOf(ThemeKind::Light).series[0]);
    Theme::instance().apply(ThemeKind::Dark);
    QCOMPARE(plot.legend->textColor(), Theme::colorsOf(ThemeKind::Dark).text);
    QCOMPARE(plot.xAxis->tickLabelColor(), Theme::colorsOf(ThemeKind::Dark).muted);
}

void TestUiPlots::dashboardExportsWholeView()
{
    TimeWindow window;
    Dashboard dashboard(&window, Millis(60'000));
    dashboard.resize(1200, 700);
    dashboard.show();
    QVERIFY(QTest::qWaitForWindowExposed(&dashboard));
    for (const char* name : {"view.png", "view.pdf"}) {
        const QString path = dir_.filePath(QString::fromLatin1(name));
        QVERIFY2(dashboard.exportView(path).isEmpty(), name);
        QVERIFY(QFile(path).size() > 1000);
    }
    // The whole overview, also the plots scrolled out of the 700 px tall window.
    QImage image(dir_.filePath(QStringLiteral("view.png")));
    QVERIFY(image.height() > 700);
    QVERIFY(!dashboard.exportView(dir_.filePath(QStringLiteral("view.txt"))).isEmpty());
}

void TestUiPlots::overviewPlotsFollowSnapshots()
{
    TimeWindow timeWindow;
    Dashboard window(&timeWindow, Millis(60'000));
    window.resize(1400, 900);
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    auto sub = std::make_shared<metrics::Subscription>(1024);
    LiveFeed feed;
    feed.setSubscription(sub);
    connect(&feed, &LiveFeed::frameReady, &window, &Dashboard::applyFrame);
    auto* samples = window.findChild<LivePlot*>(QStringLiteral("plot-samples"));
    auto* listen = window.findChild<LivePlot*>(QStringLiteral("plot-listen"));
    auto* ready = window.findChild<LivePlot*>(QStringLiteral("plot-ready"));
    QVERIFY(samples && listen && ready);
    metrics::Snapshot s;
    s.at_ms = QDateTime::currentMSecsSinceEpoch() - 1000;
    s.uptime_ms = 1000;
    s.workers.resize(3);
    sub->push_snapshot(s);
    s.at_ms += 600;
    s.uptime_ms += 600;
    s.samples_committed = 300;
    sub->push_snapshot(s);
    feed.tick();
    QCOMPARE(samples->graph(0)->data()->size(), 1);
    QCOMPARE(samples->graph(0)->data()->constBegin()->value, 500.0);
    QVERIFY(listen->unavailable());    // the snapshot said -1
    QCOMPARE(ready->seriesCount(), 3); // one line per worker
}

QTEST_MAIN(TestUiPlots)
#include "test_ui_plots.moc"
