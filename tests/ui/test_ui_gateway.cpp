// SPDX-License-Identifier: GPL-3.0-or-later
// End to end: the monitor starts its embedded gateway on 127.0.0.1:0 with a temporary database, a device
// posts real telemetry over a keep-alive HTTP/1.1 connection, and the device table, the overview and the
// device detail (history from SQLite joined with the live tail) all show it.
#include "core/auth/tokens.hpp"
#include "support/http_client.hpp"
#include "support/monitor_gateway.hpp"
#include "ui/main_window/main_window.hpp"
#include "ui/models/device_table_model.hpp"
#include "ui/pages/device_detail_page.hpp"
#include "ui/plots/live_plot.hpp"

#include <QAction>
#include <QDateTime>
#include <QLabel>
#include <QSet>
#include <QSettings>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

using namespace fleetscope;
using namespace fleetscope::ui;

namespace {

// Sends one POST /v1/telemetry on `client` and returns the status line of the answer.
QByteArray post(testing::HttpClient& client, const QByteArray& body)
{
    const auto res = client.request(testing::post_telemetry(body.toStdString()));
    if (!res)
        return "no answer: " + QByteArray::fromStdString(client.error().message());
    return "HTTP/1.1 " + QByteArray::number(res->result_int()) + " " +
           QByteArray::fromStdString(testing::str(res->reason()));
}

bool isNoContent(const QByteArray& statusLine)
{
    if (!statusLine.startsWith("HTTP/1.1 204"))
        qWarning("expected 204, got: %s", statusLine.constData());
    return statusLine.startsWith("HTTP/1.1 204");
}

QByteArray sampleBody(qint64 ts, double temp)
{
    return QStringLiteral(R"({"device":"pump-17","ts":%1,"metrics":{"temp_c":%2,"rssi":-67}})")
        .arg(ts)
        .arg(temp)
        .toUtf8();
}

} // namespace

class TestUiGateway : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void liveTelemetryReachesTheViews();
    void shortcutsAreListedOnce();
    void accessShownInStatusBar();

private:
    QTemporaryDir dir_;
};

void TestUiGateway::initTestCase()
{
    QVERIFY(dir_.isValid());
    QSettings::setDefaultFormat(QSettings::IniFormat);
    QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, dir_.path());
}

void TestUiGateway::liveTelemetryReachesTheViews()
{
    Settings settings;
    settings.listen = "127.0.0.1:0";
    settings.db_path = dir_.filePath(QStringLiteral("fleet.db")).toStdString();
    settings.workers = 2;
    MainWindow window(settings);
    window.show();
    const auto started = testing::start_monitor_gateway(window);
    QVERIFY2(started, started.error().c_str());
    QVERIFY(window.gatewayRunning());
    const quint16 port = *started;
    auto* access = window.findChild<QLabel*>(QStringLiteral("accessLabel"));
    QVERIFY(access);
    QCOMPARE(access->text(), QStringLiteral("HTTP · no tokens"));

    // The overview plots rates between snapshots: once it has drawn a point, a baseline snapshot exists, and
    // the samples below show as a rise after it (on a loaded machine the first snapshot the UI drains could
    // otherwise already hold them).
    auto* samples = window.findChild<LivePlot*>(QStringLiteral("plot-samples"));
    QVERIFY(samples);
    QTRY_VERIFY_WITH_TIMEOUT(samples->graph(0)->data()->size() > 0, 10'000);

    testing::HttpClient client;
    QVERIFY(client.connect(port));
    const qint64 t0 = QDateTime::currentMSecsSinceEpoch();
    // Two samples on one keep-alive connection; both acknowledged only once committed.
    QVERIFY(isNoContent(post(client, sampleBody(t0 - 2000, 21.25))));
    QVERIFY(isNoContent(post(client, sampleBody(t0 - 1000, 21.5))));

    DeviceTableModel* model = window.deviceModel();
    QTRY_VERIFY_WITH_TIMEOUT(model->rowOf(QStringLiteral("pump-17")) >= 0, 5000);
    const int row = model->rowOf(QStringLiteral("pump-17"));
    QTRY_COMPARE_WITH_TIMEOUT(
        model->data(model->index(row, DeviceTableModel::ColSamples), DeviceTableModel::SortRole)
            .toULongLong(),
        2u, 5000);
    QCOMPARE(model->statusAt(row), DeviceTableModel::Status::Live);
    const QStringList metrics = model->metricNames();
    QVERIFY(metrics.contains(QStringLiteral("temp_c")));
    const int tempColumn =
        DeviceTableModel::kFixedColumns + static_cast<int>(metrics.indexOf(QStringLiteral("temp_c")));
    QCOMPARE(model->data(model->index(row, tempColumn), DeviceTableModel::SortRole).toDouble(), 21.5);

    // The overview's committed-samples plot saw them.
    auto committed = [samples] {
        double sum = 0;
        for (auto it = samples->graph(0)->data()->constBegin(); it != samples->graph(0)->data()->constEnd();
             ++it)
            sum += it->value;
        return sum;
    };
    QTRY_VERIFY_WITH_TIMEOUT(committed() > 0, 10'000);

    // Device detail: the two committed samples come from SQLite, the next one from the live tail.
    DeviceDetailPage* detail = window.detailPage();
    QSignalSpy history(detail, &DeviceDetailPage::historyLoaded);
    detail->showDevice(QStringLiteral("pump-17"));
    QTRY_VERIFY_WITH_TIMEOUT(history.count() == 1, 10'000);
    QTRY_VERIFY(detail->plotFor(QStringLiteral("temp_c")) != nullptr);
    LivePlot* temp = detail->plotFor(QStringLiteral("temp_c"));
    QCOMPARE(temp->graph(0)->data()->size(), 2);
    QVERIFY(isNoContent(post(client, sampleBody(t0, 22.0))));
    QTRY_COMPARE_WITH_TIMEOUT(temp->graph(0)->data()->size(), 3, 5000);
    QCOMPARE((temp->graph(0)->data()->constEnd() - 1)->value, 22.0);

    client.close();
    QSignalSpy stopped(&window, &MainWindow::gatewayStopped);
    window.stopGateway();
    QTRY_VERIFY_WITH_TIMEOUT(stopped.count() == 1, 20'000);
    QVERIFY(!window.gatewayRunning());
}

void TestUiGateway::accessShownInStatusBar()
{
    Settings settings;
    settings.listen = "127.0.0.1:0";
    settings.db_path = dir_.filePath(QStringLiteral("access.db")).toStdString();
    settings.workers = 1;
    settings.token_file = dir_.filePath(QStringLiteral("tokens")).toStdString();
    auth::add_token(settings.token_file, "pump-1");
    MainWindow window(settings);
    const auto started = testing::start_monitor_gateway(window);
    QVERIFY2(started, started.error().c_str());
    auto* access = window.findChild<QLabel*>(QStringLiteral("accessLabel"));
    QVERIFY(access);
    QCOMPARE(access->text(), QStringLiteral("HTTP · device tokens"));
    QSignalSpy stopped(&window, &MainWindow::gatewayStopped);
    window.stopGateway();
    QTRY_VERIFY_WITH_TIMEOUT(stopped.count() == 1, 20'000);
    QCOMPARE(access->text(), QString());
}

void TestUiGateway::shortcutsAreListedOnce()
{
    MainWindow window(Settings{});
    QSet<QString> keys;
    for (QAction* action : window.shortcutActions()) {
        const QString key = action->shortcut().toString();
        QVERIFY2(!key.isEmpty(), qPrintable(action->text()));
        QVERIFY2(!keys.contains(key), qPrintable(key)); // no shortcut bound twice
        keys.insert(key);
    }
    QVERIFY(keys.size() >= 10);
    QVERIFY(!window.gatewayRunning());
}

QTEST_MAIN(TestUiGateway)
#include "test_ui_gateway.moc"
