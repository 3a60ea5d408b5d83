// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "core/metrics/hub.hpp"
#include "core/settings.hpp"
#include "ui/feed/gateway_controller.hpp"

#include <QList>
#include <QMainWindow>

#include <memory>
#include <vector>

class QAction;
class QComboBox;
class QLabel;
class QMenu;
class QToolBar;

namespace fleetscope::ui {

class AlertCenter;
class AlertsPage;
class CaptureReplay;
class Dashboard;
class ExportJob;
class ReplayBar;
struct ExportRequest;
struct ReplayLoad;
class DeviceDetailPage;
class DeviceTableModel;
class DevicesPage;
class LiveFeed;
class OverviewPage;
class TimeWindow;
struct Frame;

/// The monitor: overview, device table and device detail over one live feed, with the embedded gateway
/// controlled from the toolbar. GUI thread only; the gateway runs on its own threads behind a
/// GatewayController, and data arrives through the LiveFeed's lock-free queues.
class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(const Settings& settings, QWidget* parent = nullptr);
    ~MainWindow() override;

    /// "overview", "devices", "device" or "alerts"; false for any other name.
    bool showPage(const QString& name);
    void showDevice(const QString& device);

    void startGateway();
    void stopGateway();
    /// Stops the gateway synchronously (drain, commit, session "stop"), for a quit that cannot wait.
    void stopGatewayAndWait();
    bool gatewayRunning() const { return running_; }
    const Settings& settings() const { return settings_; }

    /// Feeds the views from a subscription; what a gateway start does, and what the benchmark calls directly.
    void attachSubscription(std::shared_ptr<metrics::Subscription> subscription, const QString& dbPath = {});

    LiveFeed* feed() const { return feed_; }
    Dashboard* dashboard() const { return dashboard_; }
    DeviceTableModel* deviceModel() const;
    DeviceDetailPage* detailPage() const;
    TimeWindow* timeWindow() const { return window_; }
    AlertCenter* alertCenter() const { return alerts_; }
    AlertsPage* alertsPage() const { return alerts_page_; }
    /// Opens the alert rule editor (window-modal); saving writes the rules file and applies it live.
    void openAlertRules();

    // Session captures (ui/main_window/main_window_capture.cpp)
    /// Reviews the capture at `path` offline in this window, read-only: no gateway, the views fed by a replay
    /// of its timeline and readings. Loads on a worker thread; captureOpened or captureFailed follows.
    void openCapture(const QString& path);
    /// Reviews the capture in this window when it is offline, else in a window of its own (File → Open, and a
    /// document the desktop hands over, e.g. from macOS Finder).
    void reviewCapture(const QString& path);
    bool offline() const { return replay_ != nullptr; }
    QString capturePath() const { return capture_path_; }
    CaptureReplay* replay() const { return replay_; }
    ReplayBar* replayBar() const { return replay_bar_; }
    /// Runs an export off the GUI thread behind a progress dialog whose Cancel stops it. The job belongs to
    /// the window and deletes itself once it has reported.
    ExportJob* startExport(const ExportRequest& request);
    /// Writes the whole window (toolbars, banner, page, status bar) as PNG or PDF; returns an error.
    QString exportWindow(const QString& path);
    /// Records a marked span in the running gateway's session (markRecorded reports the outcome).
    void addMark(const QString& label, qint64 from_ms, qint64 to_ms);

    /// Every action with a shortcut, in menu order: the help dialog lists exactly these.
    QList<QAction*> shortcutActions() const { return shortcut_actions_; }
    /// p99 of the recent frames, ms.
    double frameP99Ms() const { return frame_p99_ms_; }

signals:
    void gatewayStarted(const QString& listening);
    void gatewayStopped();
    void gatewayFailed(const QString& error);
    void captureOpened(const QString& path);
    void captureFailed(const QString& path, const QString& error);
    void markRecorded(const QString& label, const QString& error);
    /// The running gateway took the saved rules (empty), or refused them (what is wrong).
    void alertRulesApplied(const QString& error);

protected:
    void closeEvent(QCloseEvent* event) override;

private:
    void buildActions();
    void buildStatusBar();
    void buildAlerts(); // ui/main_window/main_window_alerts.cpp
    void onFrame(const Frame& frame);
    void onStarted(const GatewayInfo& info);
    void onStopped();
    void updateStatus();
    void updateActions();
    void applyThemeIcons();
    void openSettings();
    void showShortcuts();
    void exportPlotInteractive();
    void exportViewInteractive();
    void stepWindow(int direction);
    QAction* addShortcutAction(const QString& text, const QKeySequence& key, const QString& tip = {});
    void buildFileMenu();
    void openCaptureInteractive();
    void exportDataInteractive();
    void exportWindowInteractive();
    void toggleMark(bool recording);
    void fillRecentMenu();
    void captureLoaded(const ReplayLoad& load, const QString& path);
    double replayFrameMs() const;

    Settings settings_;
    GatewayController* controller_;
    LiveFeed* feed_;
    TimeWindow* window_;
    Dashboard* dashboard_;
    GatewayInfo info_;
    AlertCenter* alerts_ = nullptr;
    AlertsPage* alerts_page_ = nullptr;

    QList<QAction*> shortcut_actions_;
    QAction* start_stop_ = nullptr;
    QAction* pause_ = nullptr;
    QAction* reset_ = nullptr;
    QAction* export_plot_ = nullptr;
    QAction* export_view_ = nullptr;
    QAction* settings_action_ = nullptr;
    QAction* theme_ = nullptr;
    QAction* help_ = nullptr;
    QComboBox* window_combo_ = nullptr;

    QLabel* state_label_ = nullptr;
    QLabel* address_label_ = nullptr;
    QLabel* access_label_ = nullptr;
    QLabel* uptime_label_ = nullptr;
    QLabel* ceiling_label_ = nullptr;
    QLabel* dropped_label_ = nullptr;
    QLabel* frame_label_ = nullptr;

    std::vector<double> frame_ms_;
    std::size_t frame_next_ = 0;
    double frame_p99_ms_ = 0;
    bool running_ = false;
    bool closing_ = false;
    bool restart_after_stop_ = false;

    // Session captures
    CaptureReplay* replay_ = nullptr;
    ReplayBar* replay_bar_ = nullptr;
    QToolBar* banner_ = nullptr;
    QLabel* banner_label_ = nullptr;
    QMenu* recent_menu_ = nullptr;
    QAction* mark_ = nullptr;
    QString capture_path_;
    qint64 mark_from_ms_ = 0;
    bool capture_loading_ = false;
};

} // namespace fleetscope::ui
