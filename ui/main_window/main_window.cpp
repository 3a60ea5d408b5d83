// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/main_window/main_window.hpp"

#include "ui/capture/capture_replay.hpp"
#include "ui/dialogs/settings_dialog.hpp"
#include "ui/dialogs/settings_io.hpp"
#include "ui/feed/history_reader.hpp"
#include "ui/feed/live_feed.hpp"
#include "ui/feed/remote/remote_feeds.hpp"
#include "ui/main_window/alerts_wiring.hpp"
#include "ui/main_window/attach_wiring.hpp"
#include "ui/main_window/capture_review.hpp"
#include "ui/main_window/file_menu.hpp"
#include "ui/main_window/status_panel.hpp"
#include "ui/main_window/window_actions.hpp"
#include "ui/models/alert_center.hpp"
#include "ui/models/device_table_model.hpp"
#include "ui/pages/dashboard.hpp"
#include "ui/pages/device_detail_page.hpp"
#include "ui/pages/widget_export.hpp"
#include "ui/plots/time_window.hpp"

#include <QCloseEvent>
#include <QFutureWatcher>
#include <QMessageBox>
#include <QSettings>
#include <QStatusBar>
#include <QtConcurrent/QtConcurrentRun>

namespace fleetscope::ui {

MainWindow::MainWindow(const Settings& settings, QWidget* parent)
    : QMainWindow(parent)
    , settings_(settings)
    , controller_(new GatewayController(this))
    , feed_(new LiveFeed(this))
    , window_(new TimeWindow(this))
{
    setWindowTitle(QStringLiteral("FleetScope"));
    setWindowIcon(QIcon(QStringLiteral(":/icons/fleetscope.png")));

    QSettings prefs;
    window_->setSeconds(prefs.value(QStringLiteral("ui/window"), 300).toDouble());
    dashboard_ = new Dashboard(window_, settings_.stale_after, this);
    setCentralWidget(dashboard_);

    // In this order, which is the order of the keyboard help.
    actions_ = new WindowActions(this, window_, dashboard_);
    file_menu_ = new FileMenu(this, controller_, actions_);
    status_ = new StatusPanel(statusBar(), this);
    alerts_ = new AlertsWiring(this, controller_, actions_);
    review_ = new CaptureReview(this, status_);

    connect(actions_, &WindowActions::startStopTriggered, this,
            [this] { running_ ? stopGateway() : startGateway(); });
    connect(actions_, &WindowActions::settingsTriggered, this, &MainWindow::openSettings);
    connect(file_menu_, &FileMenu::markRecorded, this, &MainWindow::markRecorded);
    connect(alerts_, &AlertsWiring::rulesApplied, this, &MainWindow::alertRulesApplied);
    connect(review_, &CaptureReview::opened, this, [this](const QString& path) {
        updateActions();
        updateStatus();
        emit captureOpened(path);
    });
    connect(review_, &CaptureReview::failed, this, &MainWindow::captureFailed);
    // The feed times the whole frame, this slot included, so its figure is the previous frame's.
    connect(feed_, &LiveFeed::frameReady, this,
            [this](const Frame& frame) { onFrame(frame, feed_->lastFrameMs()); });
    connect(review_, &CaptureReview::frameReady, this,
            [this](const Frame& frame) { onFrame(frame, review_->replay()->lastFrameMs()); });

    connect(controller_, &GatewayController::started, this, &MainWindow::onStarted);
    connect(controller_, &GatewayController::stopped, this, &MainWindow::onStopped);
    connect(controller_, &GatewayController::startFailed, this, &MainWindow::onStartFailed);
    connect(dashboard_, &Dashboard::watchedDeviceChanged, this,
            [this](const QString& device) { feed_->setWatchedDevice(device.toStdString()); });
    connect(dashboard_, &Dashboard::secondElapsed, this, [this] {
        status_->updateFrameP99();
        updateStatus();
    });

    feed_->start();
    resize(1500, 940);
    if (!restoreGeometry(prefs.value(QStringLiteral("ui/geometry")).toByteArray()))
        resize(1500, 940);
    updateActions();
    updateStatus();
}

MainWindow::~MainWindow()
{
    feed_->stop();
}

DeviceTableModel* MainWindow::deviceModel() const
{
    return dashboard_->deviceModel();
}

DeviceDetailPage* MainWindow::detailPage() const
{
    return dashboard_->detailPage();
}

AlertCenter* MainWindow::alertCenter() const
{
    return alerts_->center();
}

AlertsPage* MainWindow::alertsPage() const
{
    return alerts_->page();
}

void MainWindow::openAlertRules()
{
    alerts_->openRules();
}

void MainWindow::reviewCapture(const QString& path)
{
    file_menu_->openCapture(path);
}

bool MainWindow::offline() const
{
    return review_->active();
}

QString MainWindow::capturePath() const
{
    return review_->path();
}

CaptureReplay* MainWindow::replay() const
{
    return review_->replay();
}

ReplayBar* MainWindow::replayBar() const
{
    return review_->bar();
}

ExportJob* MainWindow::startExport(const ExportRequest& request)
{
    return file_menu_->startExport(request);
}

QString MainWindow::exportWindow(const QString& path)
{
    return exportWidget(this, path);
}

QList<QAction*> MainWindow::shortcutActions() const
{
    return actions_->shortcutActions();
}

double MainWindow::frameP99Ms() const
{
    return status_->frameP99Ms();
}

QString MainWindow::databasePath() const
{
    if (offline())
        return review_->path();
    if (attached())
        return attached_store_;
    return running_ ? info_.db_path : QString::fromStdString(settings_.db_path);
}

void MainWindow::updateActions()
{
    const bool busy = controller_->busy();
    actions_->setGatewayState(running_, busy, offline() || attached());
    file_menu_->setGatewayState(running_, busy);
}

void MainWindow::updateStatus()
{
    status_->show({info_, running_, offline(), dashboard_->lastSnapshot(),
                   feed_->droppedTotal() + (attached() ? attach_->dropped() : 0),
                   attached() ? attach_->summary() : QString()});
}

bool MainWindow::showPage(const QString& name)
{
    static const QStringList kPages = {QStringLiteral("overview"), QStringLiteral("devices"),
                                       QStringLiteral("device"), QStringLiteral("alerts")};
    const auto index = kPages.indexOf(name.toLower());
    if (index < 0)
        return false;
    dashboard_->setCurrentIndex(static_cast<int>(index));
    return true;
}

void MainWindow::showDevice(const QString& device)
{
    dashboard_->detailPage()->showDevice(device);
    dashboard_->setCurrentWidget(dashboard_->detailPage());
}

void MainWindow::openCapture(const QString& path)
{
    if (review_->loading() || running_ || controller_->busy()) {
        emit captureFailed(path,
                           tr("this window is busy (a capture is loading or the gateway runs); open the "
                              "capture from the File menu, which gives it a window of its own"));
        return;
    }
    review_->open(path);
}

void MainWindow::addMark(const QString& label, qint64 from_ms, qint64 to_ms)
{
    controller_->requestMark(label, from_ms, to_ms);
}

void MainWindow::attachGateways(const AttachSettings& settings, const QByteArray& token, const QString& store)
{
    if (attach_ || running_ || offline())
        return;
    attach_ = new AttachWiring(this, settings, token, settings_.subscriber_queue);
    attached_store_ = store;
    dashboard_->setDatabasePath(store);
    if (store.isEmpty())
        dashboard_->detailPage()->setHistoryNote(tr(
            "Live only: attached to remote gateways without --store, so there is no history to read; start "
            "the monitor with --store URI (the store the gateways share) to see it"));
    alerts_->center()->attach(attach_->feeds()->alerts(), {}, {});
    RemoteFeeds* feeds = attach_->feeds();
    alerts_->center()->setAcknowledger([feeds](std::int64_t id) { feeds->acknowledge(id); });
    connect(feeds, &RemoteFeeds::acknowledged, alerts_->center(), &AlertCenter::reportAcknowledged);
    connect(attach_, &AttachWiring::changed, this, &MainWindow::updateStatus);
    connect(attach_, &AttachWiring::gatewayStateChanged, this, &MainWindow::attachedGatewayChanged);
    status_->setState(StatusPanel::State::Attached);
    attach_->start();
    updateActions();
    updateStatus();
}

void MainWindow::startGateway()
{
    if (running_ || controller_->busy() || offline() || attached())
        return;
    status_->setState(StatusPanel::State::Starting);
    controller_->requestStart(settings_);
    updateActions();
}

void MainWindow::stopGateway()
{
    if (!running_ || controller_->busy())
        return;
    status_->setState(StatusPanel::State::Stopping);
    controller_->requestStop();
    updateActions();
}

void MainWindow::stopGatewayAndWait()
{
    controller_->stopAndWait();
}

void MainWindow::attachSubscription(std::shared_ptr<metrics::Subscription> subscription,
                                    const QString& dbPath)
{
    dashboard_->resetDerivation();
    feed_->setSubscription(std::move(subscription));
    if (!dbPath.isEmpty())
        dashboard_->setDatabasePath(dbPath);
}

void MainWindow::onStarted(const GatewayInfo& info)
{
    info_ = info;
    running_ = true;
    if (closing_) {
        controller_->requestStop();
        return;
    }
    attachSubscription(info.subscription, info.db_path);
    alerts_->center()->attach(info.alert_feed, info.active_alerts, info.recent_alerts);
    status_->setState(StatusPanel::State::Running);
    statusBar()->showMessage(
        tr("Listening on %1 with %n worker(s); database %2", "", static_cast<int>(info.workers))
            .arg(info.listening, info.db_path),
        8000);
    loadKnownDevices(info.db_path);
    updateActions();
    updateStatus();
    emit gatewayStarted(info.listening);
}

void MainWindow::loadKnownDevices(const QString& dbPath)
{
    // Devices recorded by earlier sessions, read off the GUI thread.
    auto* watcher = new QFutureWatcher<KnownDevicesResult>(this);
    connect(watcher, &QFutureWatcher<KnownDevicesResult>::finished, this, [this, watcher] {
        const KnownDevicesResult result = watcher->result();
        if (result)
            dashboard_->deviceModel()->addKnownDevices(*result);
        else
            statusBar()->showMessage(
                tr("Device list unavailable: %1").arg(QString::fromStdString(result.error())), 8000);
        watcher->deleteLater();
    });
    watcher->setFuture(QtConcurrent::run([path = dbPath.toStdString()] { return readKnownDevices(path); }));
}

void MainWindow::onStartFailed(const QString& error)
{
    running_ = false;
    updateActions();
    status_->setState(StatusPanel::State::Failed);
    statusBar()->showMessage(tr("Gateway did not start: %1").arg(error));
    emit gatewayFailed(error);
    if (closing_) {
        close();
        return;
    }
    auto* box =
        new QMessageBox(QMessageBox::Warning, tr("Gateway did not start"), error, QMessageBox::Ok, this);
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->open();
}

void MainWindow::onStopped()
{
    running_ = false;
    feed_->tick(); // what was queued before the stop still reaches the views
    feed_->setSubscription(nullptr);
    alerts_->center()->detach();
    dashboard_->resetDerivation();
    info_ = {};
    status_->setState(StatusPanel::State::Stopped);
    updateActions();
    updateStatus();
    emit gatewayStopped();
    if (closing_) {
        close();
        return;
    }
    if (restart_after_stop_) {
        restart_after_stop_ = false;
        startGateway();
    }
}

void MainWindow::onFrame(const Frame& frame, double frameMs)
{
    status_->recordFrame(frameMs);
    dashboard_->applyFrame(frame);
}

void MainWindow::openSettings()
{
    SettingsDialog dialog(settings_, running_, this);
    if (dialog.exec() != QDialog::Accepted)
        return;
    settings_ = dialog.settings();
    QSettings prefs;
    saveSettings(prefs, settings_);
    dashboard_->deviceModel()->setStaleAfter(settings_.stale_after);
    if (running_ &&
        QMessageBox::question(this, tr("Restart the gateway?"),
                              tr("The new settings apply when the gateway restarts. Restart it now? Devices "
                                 "reconnect on their own.")) == QMessageBox::Yes) {
        restart_after_stop_ = true;
        stopGateway();
    }
}

void MainWindow::closeEvent(QCloseEvent* event)
{
    QSettings().setValue(QStringLiteral("ui/geometry"), saveGeometry());
    if (running_ || controller_->busy()) {
        // Let the gateway commit what it acknowledged; the window closes when it reports back.
        closing_ = true;
        if (running_ && !controller_->busy())
            controller_->requestStop();
        status_->setState(StatusPanel::State::Stopping);
        event->ignore();
        return;
    }
    event->accept();
}

} // namespace fleetscope::ui
