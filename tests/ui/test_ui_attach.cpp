// SPDX-License-Identifier: GPL-3.0-or-later
// The monitor attached to two real headless gateways (issue 16): two fleetscope-gateway processes, each with
// its own database, devices posting to both over real sockets, and the monitor's attach mode reading both
// GET /v1/stream. Both gateways' overviews and the one merged device table (with the gateway holding each
// device) show them; one gateway killed with SIGKILL is shown gone, and once it is back on the same port the
// monitor reconnects by itself and its new devices arrive.
#include "support/gateway_process.hpp"
#include "ui/feed/remote/attach_settings.hpp"
#include "ui/feed/remote/remote_feeds.hpp"
#include "ui/main_window/attach_wiring.hpp"
#include "ui/main_window/main_window.hpp"
#include "ui/models/alert_center.hpp"
#include "ui/models/alert_models.hpp"
#include "ui/models/device_table_model.hpp"
#include "ui/pages/dashboard.hpp"
#include "ui/pages/gateways_page.hpp"

#include <QComboBox>
#include <QDateTime>
#include <QLabel>
#include <QSettings>
#include <QSignalSpy>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTest>

#include <fstream>
#include <memory>
#include <signal.h>

using namespace fleetscope;
using namespace fleetscope::ui;
using namespace std::chrono_literals;

namespace {

/// Sends one POST /v1/telemetry on `socket` (kept open, so the device stays connected) and returns the
/// status line of the answer.
QByteArray post(QTcpSocket& socket, const QString& device, double value)
{
    const QByteArray body = QStringLiteral(R"({"device":"%1","ts":%2,"metrics":{"temp_c":%3}})")
                                .arg(device)
                                .arg(QDateTime::currentMSecsSinceEpoch())
                                .arg(value)
                                .toUtf8();
    socket.write("POST /v1/telemetry HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                 "Content-Length: " +
                 QByteArray::number(body.size()) + "\r\n\r\n" + body);
    if (!socket.waitForBytesWritten(5000))
        return "write failed: " + socket.errorString().toUtf8();
    QByteArray response;
    while (!response.contains("\r\n\r\n")) {
        if (!socket.waitForReadyRead(10'000))
            return "no answer: " + socket.errorString().toUtf8();
        response += socket.readAll();
    }
    return response.left(response.indexOf("\r\n"));
}

} // namespace

class TestUiAttach : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void cleanupTestCase();
    void monitorWatchesTwoGateways();

private:
    void startGateway(int i, std::uint16_t port = 0);
    /// A device connection to gateway `i` that posts once and stays open.
    void device(int i, const QString& id, double value = 20);

    QTemporaryDir dir_;
    std::string program_;
    testing::GatewayProcess gateways_[2];
    std::vector<std::unique_ptr<QTcpSocket>> devices_;
};

void TestUiAttach::initTestCase()
{
    QVERIFY(dir_.isValid());
    QSettings::setDefaultFormat(QSettings::IniFormat);
    QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, dir_.path());
    std::string why;
    program_ = testing::GatewayProcess::program(why);
    if (program_.empty())
        QSKIP(why.c_str());
    std::ofstream(dir_.filePath(QStringLiteral("rules.json")).toStdString())
        << R"({"rules":[{"name":"hot","kind":"metric","severity":"critical","devices":"*","metric":"temp_c",)"
           R"("condition":"above","threshold":50}]})";
}

void TestUiAttach::cleanupTestCase()
{
    devices_.clear();
    for (auto& g : gateways_)
        if (g.pid() > 0 && g.running()) {
            g.signal(SIGTERM);
            g.wait(10s);
        }
}

void TestUiAttach::startGateway(int i, std::uint16_t port)
{
    const QString name = i == 0 ? QStringLiteral("gw-a") : QStringLiteral("gw-b");
    gateways_[i].start(program_,
                       {"--listen", "127.0.0.1:" + std::to_string(port), "--db",
                        dir_.filePath(name + QStringLiteral(".db")).toStdString(), "--gateway-name",
                        name.toStdString(), "--workers", "1", "--alert-rules",
                        dir_.filePath(QStringLiteral("rules.json")).toStdString()},
                       dir_.filePath(name + QStringLiteral(".log")).toStdString());
}

void TestUiAttach::device(int i, const QString& id, double value)
{
    auto socket = std::make_unique<QTcpSocket>();
    socket->connectToHost(QStringLiteral("127.0.0.1"), gateways_[i].port());
    QVERIFY2(socket->waitForConnected(5000), qPrintable(socket->errorString()));
    const QByteArray status = post(*socket, id, value);
    QVERIFY2(status.startsWith("HTTP/1.1 204"), status.constData());
    devices_.push_back(std::move(socket));
}

void TestUiAttach::monitorWatchesTwoGateways()
{
    startGateway(0);
    startGateway(1);
    // Known before the monitor attaches: the table learns them from GET /v1/devices.
    device(0, QStringLiteral("a-early"));
    device(1, QStringLiteral("b-early"));

    Settings settings;
    settings.db_path = dir_.filePath(QStringLiteral("unused.db")).toStdString();
    MainWindow window(settings);
    window.show();
    AttachSettings attach;
    for (auto& g : gateways_)
        attach.urls << QStringLiteral("http://127.0.0.1:%1").arg(g.port());
    attach.retry_min = 100ms;
    attach.retry_max = 800ms;
    attach.stall_timeout = 5000ms;
    window.attachGateways(attach, {}, {});
    QVERIFY(window.attached());
    QVERIFY(!window.gatewayRunning());
    RemoteFeeds* feeds = window.attachment()->feeds();
    GatewaysPage* page = window.attachment()->page();
    QCOMPARE(feeds->count(), 2);
    QCOMPARE(page->count(), 2);
    QTRY_VERIFY_WITH_TIMEOUT(
        feeds->gateway(0).state == LinkState::Live && feeds->gateway(1).state == LinkState::Live, 20'000);
    QCOMPARE(feeds->gateway(0).name, QStringLiteral("gw-a"));
    QCOMPARE(feeds->gateway(1).name, QStringLiteral("gw-b"));
    QCOMPARE(page->picker()->itemText(1), QStringLiteral("gw-b"));

    // Live devices, posted once both streams are open.
    device(0, QStringLiteral("a-live"));
    device(1, QStringLiteral("b-live"));

    DeviceTableModel* model = window.deviceModel();
    const auto held_by = [model](const QString& id) {
        const int row = model->rowOf(id);
        return row < 0 ? QString() : model->gatewayAt(row);
    };
    QTRY_COMPARE_WITH_TIMEOUT(held_by(QStringLiteral("a-live")), QStringLiteral("gw-a"), 20'000);
    QTRY_COMPARE_WITH_TIMEOUT(held_by(QStringLiteral("b-live")), QStringLiteral("gw-b"), 20'000);
    QTRY_COMPARE_WITH_TIMEOUT(held_by(QStringLiteral("a-early")), QStringLiteral("gw-a"), 20'000);
    QTRY_COMPARE_WITH_TIMEOUT(held_by(QStringLiteral("b-early")), QStringLiteral("gw-b"), 20'000);
    QCOMPARE(model->statusAt(model->rowOf(QStringLiteral("a-live"))), DeviceTableModel::Status::Live);

    // Each overview follows its own gateway: two samples committed by gw-a, two by gw-b, two devices each.
    for (int i = 0; i < 2; ++i) {
        QTRY_VERIFY_WITH_TIMEOUT(page->lastSnapshot(i) && page->lastSnapshot(i)->samples_committed == 2 &&
                                     page->lastSnapshot(i)->devices_connected == 2,
                                 20'000);
    }

    // An alert raised on gw-a reaches the Alerts page, and its acknowledgement goes back to gw-a.
    device(0, QStringLiteral("a-hot"), 90);
    AlertCenter* center = window.alertCenter();
    QTRY_COMPARE_WITH_TIMEOUT(center->activeModel()->rowCount(), 1, 20'000);
    const alerts::Alert raised = center->activeModel()->alertAt(0);
    QCOMPARE(QString::fromStdString(raised.subject), QStringLiteral("a-hot"));
    QVERIFY(!raised.acked_at);
    QSignalSpy acked(center, &AlertCenter::acknowledged);
    center->acknowledge(raised.id);
    QTRY_COMPARE_WITH_TIMEOUT(acked.count(), 1, 20'000);
    QCOMPARE(acked.at(0).at(1).toString(), QStringLiteral("acked"));
    QTRY_VERIFY_WITH_TIMEOUT(center->activeModel()->alertAt(0).acked_at.has_value(), 20'000);

    // gw-b dies: shown gone, in its overview's state, its picker entry and the status bar.
    const std::uint16_t port_b = gateways_[1].port();
    gateways_[1].signal(SIGKILL);
    QVERIFY(gateways_[1].wait(10s));
    QTRY_VERIFY_WITH_TIMEOUT(feeds->gateway(1).state == LinkState::Gone, 20'000);
    QVERIFY2(page->stateText(1).contains(QStringLiteral("gone")), qPrintable(page->stateText(1)));
    QVERIFY2(page->picker()->itemText(1).contains(QStringLiteral("gone")),
             qPrintable(page->picker()->itemText(1)));
    auto* address = window.findChild<QLabel*>(QStringLiteral("addressLabel"));
    QVERIFY(address);
    QTRY_VERIFY_WITH_TIMEOUT(address->text().contains(QStringLiteral("gw-b gone")), 5'000);
    QVERIFY2(address->text().contains(QStringLiteral("gw-a live")), qPrintable(address->text()));
    QCOMPARE(feeds->gateway(0).state, LinkState::Live);

    // Back on the same port: the monitor reconnects by itself (a second stream) and follows it again.
    startGateway(1, port_b);
    QTRY_VERIFY_WITH_TIMEOUT(feeds->gateway(1).state == LinkState::Live, 20'000);
    QVERIFY(feeds->gateway(1).connections >= 2);
    QVERIFY2(!page->picker()->itemText(1).contains(QStringLiteral("gone")),
             qPrintable(page->picker()->itemText(1)));
    device(1, QStringLiteral("b-again"));
    QTRY_COMPARE_WITH_TIMEOUT(held_by(QStringLiteral("b-again")), QStringLiteral("gw-b"), 20'000);
    QTRY_VERIFY_WITH_TIMEOUT(page->lastSnapshot(1) && page->lastSnapshot(1)->samples_committed == 1, 20'000);
    QVERIFY(address->text().contains(QStringLiteral("gw-b live")));
}

QTEST_MAIN(TestUiAttach)
#include "test_ui_attach.moc"
