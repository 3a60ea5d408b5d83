// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/main_window/main_window.hpp"

#include "ui/dialogs/settings_dialog.hpp"
#include "ui/dialogs/settings_io.hpp"
#include "ui/feed/alert_center.hpp"
#include "ui/feed/history_reader.hpp"
#include "ui/feed/live_feed.hpp"
#include "ui/models/device_table_model.hpp"
#include "ui/pages/dashboard.hpp"
#include "ui/pages/device_detail_page.hpp"
#include "ui/pages/devices_page.hpp"
#include "ui/pages/overview_page.hpp"
#include "ui/plots/live_plot.hpp"
#include "ui/plots/time_window.hpp"
#include "ui/theme/icons.hpp"
#include "ui/theme/theme.hpp"

#include <QApplication>
#include <QCloseEvent>
#include <QComboBox>
#include <QDateTime>
#include <QDialog>
#include <QDialogButtonBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFutureWatcher>
#include <QHeaderView>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QPainter>
#include <QPdfWriter>
#include <QSettings>
#include <QStatusBar>
#include <QTabWidget>
#include <QTableWidget>
#include <QToolBar>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>

#include <algorithm>

namespace fleetscope::ui {

namespace {

struct WindowOption {
    const char* label;
    double seconds;
};

constexpr WindowOption kWindows[] = {
    {"1 min", 60}, {"5 min", 300}, {"15 min", 900}, {"1 h", 3600}, {"6 h", 6 * 3600}, {"24 h", 24 * 3600},
};

constexpr std::size_t kFrameHistory = 256;

QString uptimeText(std::int64_t ms)
{
    const std::int64_t s = ms / 1000;
    return QStringLiteral("%1:%2:%3")
        .arg(s / 3600, 2, 10, QLatin1Char('0'))
        .arg((s % 3600) / 60, 2, 10, QLatin1Char('0'))
        .arg(s % 60, 2, 10, QLatin1Char('0'));
}

} // namespace

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

    buildActions();
    buildFileMenu();
    buildStatusBar();
    buildAlerts();

    connect(feed_, &LiveFeed::frameReady, this, &MainWindow::onFrame);
    connect(controller_, &GatewayController::started, this, &MainWindow::onStarted);
    connect(controller_, &GatewayController::stopped, this, &MainWindow::onStopped);
    connect(controller_, &GatewayController::startFailed, this, [this](const QString& error) {
        running_ = false;
        updateActions();
        state_label_->setText(tr("● Failed"));
        state_label_->setProperty("state", QStringLiteral("failed"));
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
    });
    connect(dashboard_, &Dashboard::watchedDeviceChanged, this,
            [this](const QString& device) { feed_->setWatchedDevice(device.toStdString()); });
    connect(dashboard_, &Dashboard::secondElapsed, this, [this] {
        std::vector<double> sorted(
            frame_ms_.begin(), frame_ms_.begin() + static_cast<long>(std::min(frame_next_, kFrameHistory)));
        std::sort(sorted.begin(), sorted.end());
        frame_p99_ms_ = sorted.empty() ? 0 : sorted[static_cast<std::size_t>(0.99 * (sorted.size() - 1))];
        updateStatus();
    });
    connect(&Theme::instance(), &Theme::changed, this, [this] { applyThemeIcons(); });
    connect(window_, &TimeWindow::changed, this, [this] {
        pause_->setChecked(window_->paused());
        pause_->setText(window_->paused() ? tr("Resume") : tr("Pause"));
        for (int i = 0; i < window_combo_->count(); ++i)
            if (window_combo_->itemData(i).toDouble() == window_->seconds())
                window_combo_->setCurrentIndex(i);
        QSettings().setValue(QStringLiteral("ui/window"), window_->seconds());
    });

    frame_ms_.assign(kFrameHistory, 0.0);
    feed_->start();
    resize(1500, 940);
    if (!restoreGeometry(prefs.value(QStringLiteral("ui/geometry")).toByteArray()))
        resize(1500, 940);
    applyThemeIcons();
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

QAction* MainWindow::addShortcutAction(const QString& text, const QKeySequence& key, const QString& tip)
{
    auto* action = new QAction(text, this);
    action->setShortcut(key);
    action->setToolTip(tip.isEmpty()
                           ? QStringLiteral("%1 (%2)").arg(text, key.toString(QKeySequence::NativeText))
                           : QStringLiteral("%1 (%2)").arg(tip, key.toString(QKeySequence::NativeText)));
    addAction(action);
    shortcut_actions_.push_back(action);
    return action;
}

void MainWindow::buildActions()
{
    start_stop_ = addShortcutAction(tr("Start gateway"), QKeySequence(Qt::CTRL | Qt::Key_G),
                                    tr("Start or stop the embedded gateway"));
    connect(start_stop_, &QAction::triggered, this, [this] { running_ ? stopGateway() : startGateway(); });

    pause_ = addShortcutAction(tr("Pause"), QKeySequence(Qt::Key_Space),
                               tr("Freeze the plots; data keeps arriving"));
    pause_->setCheckable(true);
    connect(pause_, &QAction::toggled, window_, &TimeWindow::setPaused);

    reset_ = addShortcutAction(tr("Reset view"), QKeySequence(Qt::CTRL | Qt::Key_0),
                               tr("Follow the live window again after zooming or panning"));
    connect(reset_, &QAction::triggered, window_, &TimeWindow::resetRequested);

    auto* shorter = addShortcutAction(tr("Shorter window"), QKeySequence(Qt::CTRL | Qt::Key_Minus));
    connect(shorter, &QAction::triggered, this, [this] { stepWindow(-1); });
    auto* longer = addShortcutAction(tr("Longer window"), QKeySequence(Qt::CTRL | Qt::Key_Equal));
    connect(longer, &QAction::triggered, this, [this] { stepWindow(+1); });

    export_plot_ = addShortcutAction(tr("Export plot…"), QKeySequence(Qt::CTRL | Qt::Key_E),
                                     tr("Export the plot last hovered as PNG or PDF"));
    connect(export_plot_, &QAction::triggered, this, &MainWindow::exportPlotInteractive);
    export_view_ = addShortcutAction(tr("Export view…"), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_E),
                                     tr("Export the whole page as PNG or PDF"));
    connect(export_view_, &QAction::triggered, this, &MainWindow::exportViewInteractive);

    settings_action_ =
        addShortcutAction(tr("Settings…"), QKeySequence(Qt::CTRL | Qt::Key_Comma), tr("Gateway settings"));
    connect(settings_action_, &QAction::triggered, this, &MainWindow::openSettings);
    theme_ = addShortcutAction(tr("Toggle theme"), QKeySequence(Qt::CTRL | Qt::Key_T),
                               tr("Switch between the dark and the light theme"));
    connect(theme_, &QAction::triggered, this, [] {
        const ThemeKind next =
            Theme::instance().kind() == ThemeKind::Dark ? ThemeKind::Light : ThemeKind::Dark;
        Theme::instance().apply(next);
        QSettings().setValue(QStringLiteral("ui/theme"), Theme::name(next));
    });

    auto* find = addShortcutAction(tr("Find device"), QKeySequence(Qt::CTRL | Qt::Key_F));
    connect(find, &QAction::triggered, this, [this] {
        dashboard_->setCurrentWidget(dashboard_->devicesPage());
        dashboard_->devicesPage()->focusFilter();
    });
    const QString pageNames[] = {tr("Overview"), tr("Devices"), tr("Device detail")};
    for (int i = 0; i < 3; ++i) {
        auto* page =
            addShortcutAction(tr("Show %1").arg(pageNames[i]), QKeySequence(Qt::CTRL | (Qt::Key_1 + i)));
        connect(page, &QAction::triggered, this, [this, i] { dashboard_->setCurrentIndex(i); });
    }
    help_ = addShortcutAction(tr("Keyboard shortcuts"), QKeySequence(Qt::Key_F1));
    connect(help_, &QAction::triggered, this, &MainWindow::showShortcuts);
    auto* quit = addShortcutAction(tr("Quit"), QKeySequence(Qt::CTRL | Qt::Key_Q));
    connect(quit, &QAction::triggered, this, &MainWindow::close);

    auto* bar = addToolBar(tr("Main"));
    bar->setObjectName(QStringLiteral("mainToolBar"));
    bar->setMovable(false);
    bar->setIconSize(QSize(20, 20));
    bar->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    bar->addAction(start_stop_);
    bar->addSeparator();
    auto* windowLabel = new QLabel(tr("  Window "), bar);
    windowLabel->setObjectName(QStringLiteral("mutedLabel"));
    bar->addWidget(windowLabel);
    window_combo_ = new QComboBox(bar);
    window_combo_->setObjectName(QStringLiteral("windowCombo"));
    window_combo_->setToolTip(tr("Rolling window of every live plot"));
    for (const WindowOption& w : kWindows)
        window_combo_->addItem(QString::fromLatin1(w.label), w.seconds);
    for (int i = 0; i < window_combo_->count(); ++i)
        if (window_combo_->itemData(i).toDouble() == window_->seconds())
            window_combo_->setCurrentIndex(i);
    connect(window_combo_, &QComboBox::currentIndexChanged, this,
            [this](int i) { window_->setSeconds(window_combo_->itemData(i).toDouble()); });
    bar->addWidget(window_combo_);
    bar->addAction(pause_);
    bar->addAction(reset_);
    bar->addSeparator();
    bar->addAction(export_plot_);
    bar->addAction(export_view_);
    auto* spacer = new QWidget(bar);
    spacer->setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Preferred);
    bar->addWidget(spacer);
    bar->addAction(settings_action_);
    bar->addAction(theme_);
    bar->addAction(help_);
}

void MainWindow::buildStatusBar()
{
    auto label = [this](const QString& name) {
        auto* l = new QLabel(this);
        l->setObjectName(name);
        statusBar()->addPermanentWidget(l);
        return l;
    };
    state_label_ = label(QStringLiteral("stateLabel"));
    address_label_ = label(QStringLiteral("addressLabel"));
    access_label_ = label(QStringLiteral("accessLabel"));
    access_label_->setToolTip(
        tr("HTTPS when tls-cert and tls-key are set; device tokens when token-file is set, and then every "
           "POST /v1/telemetry needs its device's bearer token"));
    uptime_label_ = label(QStringLiteral("uptimeLabel"));
    ceiling_label_ = label(QStringLiteral("ceilingLabel"));
    dropped_label_ = label(QStringLiteral("droppedLabel"));
    frame_label_ = label(QStringLiteral("frameLabel"));
    state_label_->setText(tr("● Stopped"));
}

void MainWindow::applyThemeIcons()
{
    const QColor color = Theme::instance().colors().text;
    start_stop_->setIcon(makeIcon(running_ ? IconKind::Stop : IconKind::Start, color));
    pause_->setIcon(makeIcon(IconKind::Pause, color));
    reset_->setIcon(makeIcon(IconKind::ResetView, color));
    export_plot_->setIcon(makeIcon(IconKind::ExportPlot, color));
    export_view_->setIcon(makeIcon(IconKind::ExportView, color));
    settings_action_->setIcon(makeIcon(IconKind::Settings, color));
    theme_->setIcon(makeIcon(IconKind::Theme, color));
    help_->setIcon(makeIcon(IconKind::Help, color));
}

void MainWindow::updateActions()
{
    const bool busy = controller_->busy();
    start_stop_->setEnabled(!busy && !offline());
    settings_action_->setEnabled(!offline());
    mark_->setEnabled(running_ && !busy);
    start_stop_->setText(running_ ? tr("Stop gateway") : tr("Start gateway"));
    start_stop_->setIcon(
        makeIcon(running_ ? IconKind::Stop : IconKind::Start, Theme::instance().colors().text));
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

void MainWindow::startGateway()
{
    if (running_ || controller_->busy() || offline())
        return;
    state_label_->setText(tr("● Starting…"));
    controller_->requestStart(settings_);
    updateActions();
}

void MainWindow::stopGateway()
{
    if (!running_ || controller_->busy())
        return;
    state_label_->setText(tr("● Stopping…"));
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
    alerts_->attach(info.alert_feed, info.active_alerts, info.recent_alerts);
    state_label_->setText(tr("● Running"));
    state_label_->setProperty("state", QStringLiteral("running"));
    statusBar()->showMessage(
        tr("Listening on %1 with %n worker(s); database %2", "", static_cast<int>(info.workers))
            .arg(info.listening, info.db_path),
        8000);
    // Devices recorded by earlier sessions, read off the GUI thread.
    auto* watcher = new QFutureWatcher<KnownDevicesResult>(this);
    connect(watcher, &QFutureWatcher<KnownDevicesResult>::finished, this, [this, watcher] {
        const KnownDevicesResult result = watcher->result();
        if (result.error.empty())
            dashboard_->deviceModel()->addKnownDevices(result.rows);
        else
            statusBar()->showMessage(
                tr("Device list unavailable: %1").arg(QString::fromStdString(result.error)), 8000);
        watcher->deleteLater();
    });
    watcher->setFuture(
        QtConcurrent::run([path = info.db_path.toStdString()] { return readKnownDevices(path); }));
    updateActions();
    updateStatus();
    emit gatewayStarted(info.listening);
}

void MainWindow::onStopped()
{
    running_ = false;
    feed_->tick(); // what was queued before the stop still reaches the views
    feed_->setSubscription(nullptr);
    alerts_->detach();
    dashboard_->resetDerivation();
    info_ = {};
    state_label_->setText(tr("● Stopped"));
    state_label_->setProperty("state", QStringLiteral("stopped"));
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

void MainWindow::onFrame(const Frame& frame)
{
    // The feed times the whole frame, this slot included; the figure lands in the next frame's slot.
    frame_ms_[frame_next_++ % kFrameHistory] = offline() ? replayFrameMs() : feed_->lastFrameMs();
    dashboard_->applyFrame(frame);
}

void MainWindow::updateStatus()
{
    const QLocale locale;
    address_label_->setText(offline()  ? tr("read-only, no gateway")
                            : running_ ? tr("listening %1").arg(info_.listening)
                                       : tr("not listening"));
    access_label_->setText(running_ && !offline()
                               ? tr("%1 · %2").arg(info_.tls ? tr("HTTPS") : tr("HTTP"),
                                                   info_.auth ? tr("device tokens") : tr("no tokens"))
                               : QString());
    const auto& snapshot = dashboard_->lastSnapshot();
    uptime_label_->setText(snapshot ? tr("uptime %1").arg(uptimeText(snapshot->uptime_ms)) : QString());
    ceiling_label_->setText(
        running_ ? tr("connection ceiling %1").arg(locale.toString(info_.connection_ceiling)) : QString());
    ceiling_label_->setToolTip(
        tr("Connections the file limit allows; listen backlog %1").arg(info_.effective_backlog));
    dropped_label_->setText(
        tr("dropped view updates %1").arg(locale.toString(static_cast<qulonglong>(feed_->droppedTotal()))));
    dropped_label_->setToolTip(
        tr("Device updates the UI skipped because it lagged; the store has every sample"));
    frame_label_->setText(tr("frame p99 %1 ms").arg(locale.toString(frame_p99_ms_, 'f', 1)));
}

void MainWindow::stepWindow(int direction)
{
    const int count = static_cast<int>(std::size(kWindows));
    int current = 0;
    for (int i = 0; i < count; ++i)
        if (kWindows[i].seconds <= window_->seconds())
            current = i;
    window_->setSeconds(kWindows[std::clamp(current + direction, 0, count - 1)].seconds);
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

void MainWindow::showShortcuts()
{
    QDialog dialog(this);
    dialog.setWindowTitle(tr("Keyboard shortcuts"));
    auto* table = new QTableWidget(static_cast<int>(shortcut_actions_.size()), 2, &dialog);
    table->setHorizontalHeaderLabels({tr("Action"), tr("Shortcut")});
    table->verticalHeader()->setVisible(false);
    table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table->setSelectionMode(QAbstractItemView::NoSelection);
    table->setShowGrid(false);
    for (int i = 0; i < shortcut_actions_.size(); ++i) {
        QAction* a = shortcut_actions_[i];
        QString text = a->text();
        text.remove(QLatin1Char('&'));
        if (a == start_stop_)
            text = tr("Start / stop gateway");
        else if (a == pause_)
            text = tr("Pause / resume plots");
        table->setItem(i, 0, new QTableWidgetItem(text));
        table->setItem(i, 1, new QTableWidgetItem(a->shortcut().toString(QKeySequence::NativeText)));
    }
    table->horizontalHeader()->setSectionResizeMode(0, QHeaderView::Stretch);
    table->horizontalHeader()->setSectionResizeMode(1, QHeaderView::ResizeToContents);
    auto* hint =
        new QLabel(tr("In a plot: drag to pan, wheel to zoom time, double-click to follow live again, "
                      "right-click to export. The crosshair shows the exact values of the nearest "
                      "points."),
                   &dialog);
    hint->setWordWrap(true);
    hint->setObjectName(QStringLiteral("mutedLabel"));
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close, &dialog);
    connect(buttons, &QDialogButtonBox::rejected, &dialog, &QDialog::reject);
    auto* layout = new QVBoxLayout(&dialog);
    layout->addWidget(table);
    layout->addWidget(hint);
    layout->addWidget(buttons);
    dialog.resize(460, 560);
    dialog.exec();
}

void MainWindow::exportPlotInteractive()
{
    LivePlot* plot = LivePlot::lastActive();
    if (!plot || !plot->isVisible()) {
        statusBar()->showMessage(tr("Hover or click a plot first, then export it"), 5000);
        return;
    }
    const QString path =
        QFileDialog::getSaveFileName(this, tr("Export plot"), plot->title() + QStringLiteral(".png"),
                                     tr("PNG image (*.png);;PDF document (*.pdf)"));
    if (path.isEmpty())
        return;
    if (const QString error = plot->exportTo(path); !error.isEmpty())
        QMessageBox::warning(this, tr("Export plot"), error);
    else
        statusBar()->showMessage(tr("Wrote %1").arg(path), 5000);
}

void MainWindow::exportViewInteractive()
{
    const QString name =
        dashboard_->tabText(dashboard_->currentIndex()).toLower().replace(QLatin1Char(' '), QLatin1Char('-'));
    const QString path =
        QFileDialog::getSaveFileName(this, tr("Export view"), QStringLiteral("fleetscope-%1.png").arg(name),
                                     tr("PNG image (*.png);;PDF document (*.pdf)"));
    if (path.isEmpty())
        return;
    if (const QString error = dashboard_->exportView(path); !error.isEmpty())
        QMessageBox::warning(this, tr("Export view"), error);
    else
        statusBar()->showMessage(tr("Wrote %1").arg(path), 5000);
}

void MainWindow::closeEvent(QCloseEvent* event)
{
    QSettings().setValue(QStringLiteral("ui/geometry"), saveGeometry());
    if (running_ || controller_->busy()) {
        // Let the gateway commit what it acknowledged; the window closes when it reports back.
        closing_ = true;
        if (running_ && !controller_->busy())
            controller_->requestStop();
        state_label_->setText(tr("● Stopping…"));
        event->ignore();
        return;
    }
    event->accept();
}

} // namespace fleetscope::ui
