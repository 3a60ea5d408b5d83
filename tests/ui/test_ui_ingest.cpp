// SPDX-License-Identifier: GPL-3.0-or-later
// The monitor with its embedded gateway subscribed through a real Mosquitto (issue 17): one device posts
// JSON, one line protocol, one publishes over MQTT, and the Devices table names each one's source while the
// overview's MQTT tile shows the link up with its message rate, then reconnecting while the broker is down.
#include "support/mosquitto_broker.hpp"
#include "ui/main_window/main_window.hpp"
#include "ui/models/device_table_model.hpp"
#include "ui/pages/kpi_tile.hpp"
#include "ui/pages/overview_page.hpp"

#include <QSettings>
#include <QSignalSpy>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTest>

using namespace fleetscope;
using namespace fleetscope::ui;
using namespace fleetscope::testing;

namespace {

/// One POST on a fresh connection; the status line of the answer.
QByteArray post(quint16 port, const QByteArray& target, const QByteArray& body)
{
    QTcpSocket socket;
    socket.connectToHost(QStringLiteral("127.0.0.1"), port);
    if (!socket.waitForConnected(5000))
        return "no connection";
    socket.write("POST " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: " +
                 QByteArray::number(body.size()) + "\r\n\r\n" + body);
    QByteArray response;
    while (socket.waitForReadyRead(10'000))
        response += socket.readAll();
    return response.left(response.indexOf("\r\n"));
}

} // namespace

class TestUiIngest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void sourcesAndMqttTile();

private:
    QTemporaryDir dir_;
};

void TestUiIngest::initTestCase()
{
    QVERIFY(dir_.isValid());
    QSettings::setDefaultFormat(QSettings::IniFormat);
    QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, dir_.path());
    if (const auto why = MosquittoBroker::unavailable(); !why.empty())
        QFAIL(why.c_str());
}

void TestUiIngest::sourcesAndMqttTile()
{
    MosquittoBroker broker;
    broker.start();
    Settings settings;
    settings.listen = "127.0.0.1:0";
    settings.db_path = dir_.filePath(QStringLiteral("fleet.db")).toStdString();
    settings.workers = 2;
    settings.mqtt_broker = broker.url();
    settings.mqtt_topics = "fleet/+/telemetry";
    settings.mqtt_client_id = "fleetscope-ui-test";
    settings.mqtt_reconnect_min = Millis(100);
    settings.mqtt_reconnect_max = Millis(400);
    MainWindow window(settings);
    window.show();
    QSignalSpy started(&window, &MainWindow::gatewayStarted);
    QSignalSpy failed(&window, &MainWindow::gatewayFailed);
    window.startGateway();
    QTRY_VERIFY_WITH_TIMEOUT(started.count() == 1 || failed.count() == 1, 20'000);
    if (failed.count() == 1)
        QFAIL(qPrintable(QStringLiteral("gateway did not start: ") + failed.at(0).at(0).toString()));
    const quint16 port = started.at(0).at(0).toString().section(QLatin1Char(':'), -1).toUShort();

    auto* overview = window.findChild<OverviewPage*>();
    QVERIFY(overview);
    KpiTile* tile = overview->mqttTile();
    QTRY_VERIFY_WITH_TIMEOUT(tile->value().endsWith(QStringLiteral("msg/s")), 10'000);

    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    QCOMPARE(post(port, "/v1/telemetry",
                  QStringLiteral(R"({"device":"json-1","ts":%1,"metrics":{"v":1}})").arg(now).toUtf8()),
             QByteArray("HTTP/1.1 204 No Content"));
    QCOMPARE(post(port, "/write?precision=ms", QStringLiteral("m,device=lp-1 v=2 %1").arg(now).toUtf8()),
             QByteArray("HTTP/1.1 204 No Content"));
    for (int i = 0; i < 20; ++i)
        QCOMPARE(broker.publish({"-q", "1", "-t", "fleet/mqtt-1/telemetry", "-m",
                                 R"({"metrics":{"v":)" + std::to_string(i) + "}}"}),
                 0);

    DeviceTableModel* model = window.deviceModel();
    auto sourceOf = [model](const char* device) {
        const int row = model->rowOf(QString::fromLatin1(device));
        return row < 0 ? QString() : model->data(model->index(row, DeviceTableModel::ColSource)).toString();
    };
    QTRY_COMPARE_WITH_TIMEOUT(sourceOf("json-1"), QStringLiteral("HTTP"), 10'000);
    QTRY_COMPARE_WITH_TIMEOUT(sourceOf("lp-1"), QStringLiteral("line protocol"), 10'000);
    QTRY_COMPARE_WITH_TIMEOUT(sourceOf("mqtt-1"), QStringLiteral("MQTT"), 10'000);
    QCOMPARE(model->headerData(DeviceTableModel::ColSource, Qt::Horizontal).toString(),
             QStringLiteral("Source"));

    // The broker goes away: the tile says so, and comes back with it.
    broker.stop();
    QTRY_COMPARE_WITH_TIMEOUT(tile->value(), QStringLiteral("reconnecting"), 10'000);
    broker.start();
    QTRY_VERIFY_WITH_TIMEOUT(tile->value().endsWith(QStringLiteral("msg/s")), 10'000);
    window.close();
}

QTEST_MAIN(TestUiIngest)
#include "test_ui_ingest.moc"
