// SPDX-License-Identifier: GPL-3.0-or-later
// The alerts in the monitor. The models under QAbstractItemModelTester, including a flood that resets them;
// the device marks from a sequence of events (data-driven); then end to end: the monitor's embedded gateway
// on 127.0.0.1:0 with a real rule (temp_c above 50, hold 0), a device posting over a real keep-alive socket,
// and the Alerts page, the device row and the overview badge following the engine; acknowledging from the UI;
// recovery into the history; and the rule editor refusing an invalid rule with the core's message, saving
// a valid one and applying it to the running gateway.
#include "core/alerts/alerts.hpp"
#include "support/http_client.hpp"
#include "support/monitor_gateway.hpp"
#include "ui/dialogs/rule_editor_dialog.hpp"
#include "ui/main_window/main_window.hpp"
#include "ui/models/alert_center.hpp"
#include "ui/models/alert_models.hpp"
#include "ui/models/device_table_model.hpp"
#include "ui/pages/alerts_page.hpp"
#include "ui/pages/dashboard.hpp"
#include "ui/pages/kpi_tile.hpp"
#include "ui/pages/overview_page.hpp"

#include <QAbstractItemModelTester>
#include <QComboBox>
#include <QDateTime>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLineEdit>
#include <QPointer>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QTableView>
#include <QTemporaryDir>
#include <QTest>

using namespace fleetscope;
using namespace fleetscope::ui;

namespace {

struct Response {
    QByteArray status;
    QByteArray body;
};

// One request on a keep-alive connection: its status line and body.
Response request(testing::HttpClient& client, const std::string& raw)
{
    const auto res = client.request(raw);
    if (!res)
        return {"no answer: " + QByteArray::fromStdString(client.error().message()), {}};
    return {"HTTP/1.1 " + QByteArray::number(res->result_int()), QByteArray::fromStdString(res->body())};
}

bool postTemp(testing::HttpClient& client, const char* device, double temp)
{
    const QByteArray body = QStringLiteral(R"({"device":"%1","ts":%2,"metrics":{"temp_c":%3}})")
                                .arg(QLatin1String(device))
                                .arg(QDateTime::currentMSecsSinceEpoch())
                                .arg(temp)
                                .toUtf8();
    const Response r = request(client, testing::post_telemetry(body.toStdString()));
    if (!r.status.startsWith("HTTP/1.1 204"))
        qWarning("expected 204, got: %s %s", r.status.constData(), r.body.constData());
    return r.status.startsWith("HTTP/1.1 204");
}

alerts::Alert alert(std::int64_t id, const std::string& subject, alerts::Severity severity)
{
    alerts::Alert a;
    a.id = id;
    a.rule = "rule-" + std::to_string(id % 3);
    a.subject = subject;
    a.severity = severity;
    a.raised_at = 1'700'000'000'000 + id;
    a.message = "temp_c = 60, above 50";
    return a;
}

alerts::AlertEvent makeEvent(alerts::AlertEvent::Kind kind, alerts::Alert a)
{
    if (kind == alerts::AlertEvent::Kind::cleared) {
        a.active = false;
        a.cleared_at = a.raised_at + 1000;
    } else if (kind == alerts::AlertEvent::Kind::acked) {
        a.acked_at = a.raised_at + 500;
    }
    return {kind, std::move(a)};
}

alerts::Rule hotRule(const std::string& name, const std::string& metric, double threshold)
{
    alerts::Rule r;
    r.name = name;
    r.kind = alerts::RuleKind::metric;
    r.severity = alerts::Severity::critical;
    r.devices = "pump-*";
    r.metric = metric;
    r.condition = alerts::Condition::above;
    r.threshold = threshold;
    r.hold = Millis{0};
    return r;
}

int activeRowOf(AlertCenter* center, const std::string& rule)
{
    ActiveAlertsModel* model = center->activeModel();
    for (int row = 0; row < model->rowCount(); ++row)
        if (model->alertAt(row).rule == rule)
            return row;
    return -1;
}

} // namespace

Q_DECLARE_METATYPE(std::vector<fleetscope::alerts::AlertEvent>)

class TestUiAlerts : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void modelsUnderTester();
    void floodResetsOnce();
    void historyIsBounded();
    void deviceMarks_data();
    void deviceMarks();
    void marksKeepTheSortOrder();
    void liveAlertInTheMonitor();

private:
    QTemporaryDir dir_;
};

void TestUiAlerts::initTestCase()
{
    QVERIFY(dir_.isValid());
    QSettings::setDefaultFormat(QSettings::IniFormat);
    QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, dir_.path());
    QLocale::setDefault(QLocale(QLocale::English, QLocale::UnitedStates));
}

void TestUiAlerts::modelsUnderTester()
{
    using Kind = alerts::AlertEvent::Kind;
    ActiveAlertsModel active;
    AlertHistoryModel history(100);
    QSortFilterProxyModel activeProxy;
    activeProxy.setSourceModel(&active);
    activeProxy.setSortRole(ActiveAlertsModel::SortRole);
    activeProxy.sort(ActiveAlertsModel::ColSeverity, Qt::DescendingOrder);
    AlertHistoryProxy historyProxy;
    historyProxy.setSourceModel(&history);
    historyProxy.sort(AlertHistoryModel::ColTime, Qt::DescendingOrder);
    QAbstractItemModelTester t1(&active, QAbstractItemModelTester::FailureReportingMode::QtTest);
    QAbstractItemModelTester t2(&activeProxy, QAbstractItemModelTester::FailureReportingMode::QtTest);
    QAbstractItemModelTester t3(&history, QAbstractItemModelTester::FailureReportingMode::QtTest);
    QAbstractItemModelTester t4(&historyProxy, QAbstractItemModelTester::FailureReportingMode::QtTest);

    const std::vector<alerts::AlertEvent> batch = {
        makeEvent(Kind::raised, alert(1, "pump-1", alerts::Severity::warning)),
        makeEvent(Kind::raised, alert(2, "pump-2", alerts::Severity::critical)),
        makeEvent(Kind::raised, alert(3, "gateway", alerts::Severity::info)),
        makeEvent(Kind::acked, alert(1, "pump-1", alerts::Severity::warning)),
        makeEvent(Kind::cleared, alert(3, "gateway", alerts::Severity::info)),
    };
    active.apply(batch);
    history.append(batch);
    QCOMPARE(active.rowCount(), 2);
    QCOMPARE(active.unacknowledged(), 1);
    QCOMPARE(active.highestUnacknowledged(), static_cast<int>(alerts::Severity::critical));
    QCOMPARE(active.rowOfId(3), -1);
    QVERIFY(active.alertAt(active.rowOfId(1)).acked_at.has_value());
    // The critical alert leads the severity-descending view.
    QCOMPARE(activeProxy.index(0, ActiveAlertsModel::ColSubject).data().toString(), QStringLiteral("pump-2"));
    QCOMPARE(history.rowCount(), 5);

    historyProxy.setKindFilter(static_cast<int>(Kind::raised));
    QCOMPARE(historyProxy.rowCount(), 3);
    historyProxy.setFilterText(QStringLiteral("GATEWAY"));
    QCOMPARE(historyProxy.rowCount(), 1);
    historyProxy.setKindFilter(-1);
    QCOMPARE(historyProxy.rowCount(), 2); // raised and cleared
    historyProxy.setFilterText({});
    QCOMPARE(historyProxy.rowCount(), 5);

    // A raise the model already holds (the start-up list and the feed overlap) does not duplicate it.
    active.apply(std::vector<alerts::AlertEvent>{
        makeEvent(Kind::raised, alert(2, "pump-2", alerts::Severity::critical))});
    QCOMPARE(active.rowCount(), 2);
    active.apply(std::vector<alerts::AlertEvent>{
        makeEvent(Kind::cleared, alert(1, "pump-1", alerts::Severity::warning))});
    QCOMPARE(active.rowCount(), 1);
    QCOMPARE(active.rowOfId(2), 0);
    active.setNow(1'700'000'100'000);
    active.reset({});
    QCOMPARE(active.rowCount(), 0);
}

void TestUiAlerts::floodResetsOnce()
{
    using Kind = alerts::AlertEvent::Kind;
    ActiveAlertsModel active;
    QAbstractItemModelTester tester(&active, QAbstractItemModelTester::FailureReportingMode::QtTest);
    constexpr int kDevices = 15'000;
    std::vector<alerts::AlertEvent> raised;
    for (int i = 0; i < kDevices; ++i)
        raised.push_back(
            makeEvent(Kind::raised, alert(i, "dev-" + std::to_string(i), alerts::Severity::warning)));
    QSignalSpy resets(&active, &QAbstractItemModel::modelReset);
    QSignalSpy removed(&active, &QAbstractItemModel::rowsRemoved);
    QElapsedTimer clock;
    clock.start();
    active.apply(raised);
    QCOMPARE(active.rowCount(), kDevices);
    // Every other one clears: one reset, no per-row removal, and the index stays right.
    std::vector<alerts::AlertEvent> cleared;
    for (int i = 0; i < kDevices; i += 2)
        cleared.push_back(
            makeEvent(Kind::cleared, alert(i, "dev-" + std::to_string(i), alerts::Severity::warning)));
    active.apply(cleared);
    const qint64 ms = clock.elapsed();
    QCOMPARE(active.rowCount(), kDevices / 2);
    QCOMPARE(resets.count(), 2);
    QCOMPARE(removed.count(), 0);
    for (int row = 0; row < active.rowCount(); ++row)
        QCOMPARE(active.rowOfId(active.alertAt(row).id), row);
    qInfo("15,000 raises then 7,500 clears applied in %lld ms", ms);
    QVERIFY2(ms < 2000, qPrintable(QString::number(ms)));
}

void TestUiAlerts::historyIsBounded()
{
    using Kind = alerts::AlertEvent::Kind;
    AlertHistoryModel history(10);
    QAbstractItemModelTester tester(&history, QAbstractItemModelTester::FailureReportingMode::QtTest);
    std::vector<alerts::AlertEvent> batch;
    for (int i = 0; i < 7; ++i)
        batch.push_back(makeEvent(Kind::raised, alert(i, "d", alerts::Severity::info)));
    history.append(batch);
    history.append(batch);
    QCOMPARE(history.rowCount(), 10);
    QCOMPARE(history.eventAt(0).alert.id, 4); // the oldest four went first
    std::vector<alerts::AlertEvent> big;
    for (int i = 100; i < 125; ++i)
        big.push_back(makeEvent(Kind::raised, alert(i, "d", alerts::Severity::info)));
    history.append(big);
    QCOMPARE(history.rowCount(), 10);
    QCOMPARE(history.eventAt(0).alert.id, 115);
    QCOMPARE(history.eventAt(9).alert.id, 124);
}

// Each row: a sequence of events (id, subject, severity, kind) fed through a real EventFeed, and what the
// device rows then show.
void TestUiAlerts::deviceMarks_data()
{
    using Kind = alerts::AlertEvent::Kind;
    using S = alerts::Severity;
    QTest::addColumn<std::vector<alerts::AlertEvent>>("events");
    QTest::addColumn<int>("pump1Count");
    QTest::addColumn<int>("pump1Severity");
    QTest::addColumn<int>("pump2Count");
    QTest::addColumn<int>("unacknowledged");

    QTest::addRow("one raise") << std::vector{makeEvent(Kind::raised, alert(1, "pump-1", S::warning))} << 1
                               << 1 << 0 << 1;
    QTest::addRow("highest severity wins")
        << std::vector{makeEvent(Kind::raised, alert(1, "pump-1", S::warning)),
                       makeEvent(Kind::raised, alert(2, "pump-1", S::critical)),
                       makeEvent(Kind::raised, alert(3, "pump-2", S::info))}
        << 2 << 2 << 1 << 3;
    QTest::addRow("clear lowers the mark")
        << std::vector{makeEvent(Kind::raised, alert(1, "pump-1", S::warning)),
                       makeEvent(Kind::raised, alert(2, "pump-1", S::critical)),
                       makeEvent(Kind::cleared, alert(2, "pump-1", S::critical))}
        << 1 << 1 << 0 << 1;
    QTest::addRow("ack keeps the mark")
        << std::vector{makeEvent(Kind::raised, alert(1, "pump-1", S::critical)),
                       makeEvent(Kind::acked, alert(1, "pump-1", S::critical))}
        << 1 << 2 << 0 << 0;
    QTest::addRow("raised and cleared in one frame")
        << std::vector{makeEvent(Kind::raised, alert(1, "pump-1", S::critical)),
                       makeEvent(Kind::cleared, alert(1, "pump-1", S::critical))}
        << 0 << -1 << 0 << 0;
    QTest::addRow("repeated raise counts once")
        << std::vector{makeEvent(Kind::raised, alert(1, "pump-1", S::info)),
                       makeEvent(Kind::raised, alert(1, "pump-1", S::info))}
        << 1 << 0 << 0 << 1;
    QTest::addRow("clear of an unknown alert is ignored")
        << std::vector{makeEvent(Kind::cleared, alert(9, "pump-2", S::info))} << 0 << -1 << 0 << 0;
}

void TestUiAlerts::deviceMarks()
{
    QFETCH(std::vector<alerts::AlertEvent>, events);
    QFETCH(int, pump1Count);
    QFETCH(int, pump1Severity);
    QFETCH(int, pump2Count);
    QFETCH(int, unacknowledged);

    DeviceTableModel devices;
    DeviceFilterProxy proxy;
    proxy.setSourceModel(&devices);
    QAbstractItemModelTester tester(&proxy, QAbstractItemModelTester::FailureReportingMode::QtTest);
    proxy.sort(DeviceTableModel::ColAlerts, Qt::DescendingOrder);
    DeviceDelta pump1;
    pump1.device = "pump-1";
    pump1.samples = 1;
    devices.applyFrame({pump1}, 1000);

    AlertCenter center(nullptr, &devices, 100);
    QVERIFY(!center.notificationsAvailable()); // offscreen: no tray, and nothing breaks
    auto feed = std::make_shared<alerts::EventFeed>(64);
    center.attach(feed, {}, {});
    QSignalSpy summary(&center, &AlertCenter::summaryChanged);
    for (const alerts::AlertEvent& e : events)
        feed->push(e);
    center.drain(2000);
    QCOMPARE(summary.count(), 1);
    QCOMPARE(summary.last().at(1).toInt(), unacknowledged);

    // pump-2 gets its row after its alerts: the mark waits for it.
    DeviceDelta pump2;
    pump2.device = "pump-2";
    pump2.samples = 1;
    devices.applyFrame({pump2}, 3000);
    const int row1 = devices.rowOf(QStringLiteral("pump-1"));
    const int row2 = devices.rowOf(QStringLiteral("pump-2"));
    QCOMPARE(devices.alertCountAt(row1), pump1Count);
    QCOMPARE(devices.alertCountAt(row2), pump2Count);
    const QModelIndex mark = devices.index(row1, DeviceTableModel::ColAlerts);
    QCOMPARE(mark.data(DeviceTableModel::AlertCountRole).toInt(), pump1Count);
    QCOMPARE(mark.data().toString().isEmpty(), pump1Count == 0);
    if (pump1Severity >= 0)
        QCOMPARE(mark.data(Qt::ForegroundRole).value<QColor>(),
                 severityColor(static_cast<alerts::Severity>(pump1Severity)));
    // Sorting by the alerts column puts a marked device first.
    if (pump1Count > 0 && pump2Count == 0)
        QCOMPARE(proxy.index(0, DeviceTableModel::ColDevice).data().toString(), QStringLiteral("pump-1"));

    center.detach();
    QCOMPARE(devices.alertCountAt(row1), 0);
    QCOMPARE(center.activeCount(), 0);
}

void TestUiAlerts::marksKeepTheSortOrder()
{
    DeviceTableModel devices;
    DeviceFilterProxy proxy;
    proxy.setSourceModel(&devices);
    QTableView view;
    view.setModel(&proxy);
    view.setSortingEnabled(true);
    view.sortByColumn(DeviceTableModel::ColDevice, Qt::AscendingOrder);
    auto sorted = [&proxy] {
        for (int r = 1; r < proxy.rowCount(); ++r)
            if (proxy.index(r, 0).data().toString() < proxy.index(r - 1, 0).data().toString())
                return false;
        return true;
    };
    for (int frame = 0; frame < 3; ++frame) {
        std::vector<DeviceDelta> deltas;
        for (int i = 0; i < 40; ++i) {
            DeviceDelta d;
            d.device = "sim-" + std::to_string((i * 7 + frame * 13) % 60);
            d.samples = 1;
            d.latest = {{"temp_c", static_cast<double>(i)}};
            deltas.push_back(d);
        }
        devices.applyFrame(deltas, 1000 * (frame + 1));
        // The first frame adds metric columns to an empty model, which made the proxy forget its sort column.
        QCOMPARE(proxy.sortColumn(), static_cast<int>(DeviceTableModel::ColDevice));
        QVERIFY(sorted());
    }
    for (int i = 0; i < 60; i += 7)
        devices.setDeviceAlerts(QStringLiteral("sim-%1").arg(i), 1 + i % 3, i % 3);
    QVERIFY(sorted());
    devices.setNow(10'000);
    QVERIFY(sorted());
    // Sorting by the alerts column: the critical ones lead.
    view.sortByColumn(DeviceTableModel::ColAlerts, Qt::DescendingOrder);
    QCOMPARE(proxy.index(0, DeviceTableModel::ColAlerts).data(DeviceTableModel::AlertCountRole).toInt(), 3);
    devices.clearDeviceAlerts();
    QCOMPARE(proxy.index(0, DeviceTableModel::ColAlerts).data(DeviceTableModel::AlertCountRole).toInt(), 0);
}

void TestUiAlerts::liveAlertInTheMonitor()
{
    const QString rulesPath = dir_.filePath(QStringLiteral("alerts.json"));
    QCOMPARE(
        QString::fromStdString(
            alerts::save_rules(rulesPath.toStdString(), std::vector{hotRule("hot", "temp_c", 50)}).error()),
        QString());
    Settings settings;
    settings.listen = "127.0.0.1:0";
    settings.db_path = dir_.filePath(QStringLiteral("fleet.db")).toStdString();
    settings.workers = 2;
    settings.alert_rules = rulesPath.toStdString();
    MainWindow window(settings);
    window.resize(1400, 900);
    window.show();
    QVERIFY(window.showPage(QStringLiteral("alerts")));
    const auto started = testing::start_monitor_gateway(window);
    QVERIFY2(started, started.error().c_str());
    const quint16 port = *started;

    AlertCenter* center = window.alertCenter();
    AlertsPage* page = window.alertsPage();
    DeviceTableModel* devices = window.deviceModel();
    KpiTile* tile = window.dashboard()->overviewPage()->alertsTile();
    QCOMPARE(center->activeCount(), 0);
    QCOMPARE(tile->value(), QStringLiteral("0"));

    testing::HttpClient client;
    QVERIFY(client.connect(port));
    QVERIFY(postTemp(client, "pump-17", 21.5));
    QVERIFY(postTemp(client, "pump-18", 22.0));

    // Crossing the threshold: the page, the device row and the overview badge show it within a second.
    QElapsedTimer clock;
    clock.start();
    QVERIFY(postTemp(client, "pump-17", 60.0));
    QTRY_VERIFY_WITH_TIMEOUT(center->activeCount() == 1, 1000);
    qInfo("alert shown %lld ms after the crossing sample was posted", clock.elapsed());
    QTableView* activeView = page->activeView();
    QCOMPARE(activeView->model()->rowCount(), 1);
    auto cell = [activeView](int column) { return activeView->model()->index(0, column).data().toString(); };
    QCOMPARE(cell(ActiveAlertsModel::ColRule), QStringLiteral("hot"));
    QCOMPARE(cell(ActiveAlertsModel::ColSubject), QStringLiteral("pump-17"));
    QCOMPARE(cell(ActiveAlertsModel::ColSeverity), QStringLiteral("critical"));
    QVERIFY2(cell(ActiveAlertsModel::ColMessage).contains(QStringLiteral("temp_c")),
             qPrintable(cell(ActiveAlertsModel::ColMessage)));
    QCOMPARE(cell(ActiveAlertsModel::ColAcked), QStringLiteral("no"));
    QTRY_VERIFY_WITH_TIMEOUT(devices->rowOf(QStringLiteral("pump-17")) >= 0, 2000);
    QTRY_COMPARE_WITH_TIMEOUT(devices->alertCountAt(devices->rowOf(QStringLiteral("pump-17"))), 1, 2000);
    QCOMPARE(devices->alertCountAt(devices->rowOf(QStringLiteral("pump-18"))), 0);
    QCOMPARE(tile->value(), QStringLiteral("1"));
    QCOMPARE(window.dashboard()->tabText(window.dashboard()->indexOf(page)), QStringLiteral("Alerts (1)"));
    QCOMPARE(page->summaryText(), QStringLiteral("1 active · 1 not acknowledged"));

    // Acknowledge from the page: the engine answers "acked", and its event reaches the panel.
    QSignalSpy acked(center, &AlertCenter::acknowledged);
    const qint64 id = center->activeModel()->alertAt(0).id;
    QVERIFY(!page->acknowledgeButton()->isEnabled());
    activeView->selectRow(0);
    QVERIFY(page->acknowledgeButton()->isEnabled());
    QTest::mouseClick(page->acknowledgeButton(), Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(acked.count(), 1, 5000);
    QCOMPARE(acked.at(0).at(0).toLongLong(), id);
    QCOMPARE(acked.at(0).at(1).toString(), QStringLiteral("acked"));
    QTRY_VERIFY_WITH_TIMEOUT(center->activeModel()->alertAt(0).acked_at.has_value(), 2000);
    QVERIFY(cell(ActiveAlertsModel::ColAcked).startsWith(QStringLiteral("acknowledged")));
    QCOMPARE(center->unacknowledgedCount(), 0);
    QCOMPARE(page->summaryText(), QStringLiteral("1 active · 0 not acknowledged"));
    // A second acknowledgement (the shortcut, on the still-selected row) is refused as such.
    const QList<QAction*> actions = window.shortcutActions();
    const auto ackAction = std::find_if(actions.begin(), actions.end(), [](QAction* a) {
        return a->shortcut() == QKeySequence(Qt::CTRL | Qt::Key_K);
    });
    QVERIFY(ackAction != actions.end());
    (*ackAction)->trigger();
    QTRY_COMPARE_WITH_TIMEOUT(acked.count(), 2, 5000);
    QCOMPARE(acked.at(1).at(1).toString(), QStringLiteral("already_acked"));

    // The engine's own view, over HTTP: active, acknowledged.
    const Response alertsJson = request(client, testing::get("/v1/alerts"));
    QVERIFY2(alertsJson.status.startsWith("HTTP/1.1 200"), alertsJson.status.constData());
    const QJsonObject doc = QJsonDocument::fromJson(alertsJson.body).object();
    const QJsonArray activeJson = doc.value(QStringLiteral("active")).toArray();
    QCOMPARE(activeJson.size(), 1);
    QCOMPARE(activeJson.at(0).toObject().value(QStringLiteral("id")).toInteger(), id);
    QVERIFY(!activeJson.at(0).toObject().value(QStringLiteral("acked_at")).isNull());

    // Recovery clears it into the history, with its raise and its acknowledgement.
    QVERIFY(postTemp(client, "pump-17", 40.0));
    QTRY_COMPARE_WITH_TIMEOUT(center->activeCount(), 0, 1000);
    QCOMPARE(devices->alertCountAt(devices->rowOf(QStringLiteral("pump-17"))), 0);
    QCOMPARE(tile->value(), QStringLiteral("0"));
    QCOMPARE(window.dashboard()->tabText(window.dashboard()->indexOf(page)), QStringLiteral("Alerts"));
    AlertHistoryProxy* history = page->historyProxy();
    QCOMPARE(history->rowCount(), 3);
    // Newest first: cleared, acknowledged, raised.
    QCOMPARE(history->index(0, AlertHistoryModel::ColEvent).data().toString(), QStringLiteral("cleared"));
    QCOMPARE(history->index(1, AlertHistoryModel::ColEvent).data().toString(),
             QStringLiteral("acknowledged"));
    QCOMPARE(history->index(2, AlertHistoryModel::ColEvent).data().toString(), QStringLiteral("raised"));
    // The clear says how long the alert lasted.
    QVERIFY2(history->index(0, AlertHistoryModel::ColMessage)
                 .data()
                 .toString()
                 .startsWith(QStringLiteral("after ")),
             qPrintable(history->index(0, AlertHistoryModel::ColMessage).data().toString()));
    page->findChild<QComboBox*>(QStringLiteral("historyKind"))->setCurrentIndex(2); // cleared only
    QCOMPARE(history->rowCount(), 1);
    page->findChild<QComboBox*>(QStringLiteral("historyKind"))->setCurrentIndex(0);

    // The rule editor: it opens on the file's rules.
    QSignalSpy applied(&window, &MainWindow::alertRulesApplied);
    window.openAlertRules();
    // The dialog deletes itself once closed, so the test holds it through a guarded pointer.
    QPointer<RuleEditorDialog> editor = window.findChild<RuleEditorDialog*>();
    QVERIFY(editor);
    QTRY_VERIFY(editor->isVisible());
    QCOMPARE(editor->rules().size(), std::size_t{1});
    QCOMPARE(editor->rules().front().name, std::string("hot"));
    const QByteArray before = [&] {
        QFile f(rulesPath);
        return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
    }();
    QVERIFY(!before.isEmpty());

    // An invalid rule: a metric rule without a metric. The core's own message shows inline, Save refuses.
    editor->addRule();
    QCOMPARE(editor->currentRule(), 1);
    auto* name = qobject_cast<QLineEdit*>(editor->editorFor(QStringLiteral("name")));
    auto* metric = qobject_cast<QLineEdit*>(editor->editorFor(QStringLiteral("metric")));
    auto* threshold = qobject_cast<QLineEdit*>(editor->editorFor(QStringLiteral("threshold")));
    QVERIFY(name && metric && threshold);
    name->selectAll();
    QTest::keyClicks(name, QStringLiteral("volt-high"));
    metric->selectAll();
    QTest::keyClick(metric, Qt::Key_Delete);
    alerts::Rule invalid = editor->rules().back();
    QVERIFY(invalid.metric.empty());
    const QString expected = QString::fromStdString(alerts::validate(invalid).error());
    QVERIFY(!expected.isEmpty());
    QCOMPARE(editor->errorText(), expected);
    // A threshold that is not a number is named as such.
    threshold->selectAll();
    QTest::keyClicks(threshold, QStringLiteral("high"));
    QVERIFY2(editor->errorText().contains(QStringLiteral("threshold")), qPrintable(editor->errorText()));
    editor->accept();
    QVERIFY(editor->isVisible());
    {
        QFile f(rulesPath);
        QVERIFY(f.open(QIODevice::ReadOnly));
        QCOMPARE(f.readAll(), before);
    }

    // Made valid: volt above 3.5. Save writes the file and the running gateway applies it.
    QTest::keyClicks(metric, QStringLiteral("volt"));
    threshold->selectAll();
    QTest::keyClicks(threshold, QStringLiteral("3.5"));
    QCOMPARE(editor->errorText(), QString());
    editor->accept();
    QTRY_VERIFY(!editor || !editor->isVisible());
    const auto saved = alerts::load_rules(rulesPath.toStdString());
    QVERIFY2(saved.ok(), saved.error().c_str());
    QCOMPARE(saved->size(), std::size_t{2});
    QCOMPARE((*saved)[0], hotRule("hot", "temp_c", 50));
    QCOMPARE((*saved)[1].name, std::string("volt-high"));
    QCOMPARE((*saved)[1].metric, std::string("volt"));
    QCOMPARE((*saved)[1].threshold, 3.5);
    QTRY_COMPARE_WITH_TIMEOUT(applied.count(), 1, 5000);
    QCOMPARE(applied.at(0).at(0).toString(), QString());

    // Applied live: the new rule raises on the next sample that crosses it.
    const QByteArray volt = R"({"device":"pump-17","metrics":{"volt":4.2}})";
    QVERIFY(request(client, testing::post_telemetry(volt.toStdString())).status.startsWith("HTTP/1.1 204"));
    QTRY_COMPARE_WITH_TIMEOUT(center->activeCount(), 1, 1000);
    QVERIFY(activeRowOf(center, "volt-high") >= 0);

    client.close();
    QSignalSpy stopped(&window, &MainWindow::gatewayStopped);
    window.stopGateway();
    QTRY_VERIFY_WITH_TIMEOUT(stopped.count() == 1, 20'000);
    // Stopped, the gateway's alerts are gone with it; the history keeps what happened.
    QCOMPARE(center->activeCount(), 0);
    QCOMPARE(tile->value(), QStringLiteral("0"));
    QVERIFY(center->historyModel()->rowCount() >= 4);
}

QTEST_MAIN(TestUiAlerts)
#include "test_ui_alerts.moc"
