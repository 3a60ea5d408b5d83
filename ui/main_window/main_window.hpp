// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "core/metrics/hub.hpp"
#include "core/settings.hpp"
#include "ui/feed/gateway_controller.hpp"

#include <QList>
#include <QMainWindow>

#include <memory>

class QAction;

namespace fleetscope::ui {

class AlertCenter;
class AlertsPage;
class AlertsWiring;
class AttachWiring;
class CaptureReplay;
class CaptureReview;
class Dashboard;
class DeviceDetailPage;
class DeviceTableModel;
class ExportJob;
class FileMenu;
class LiveFeed;
class ReplayBar;
class StatusPanel;
class TimeWindow;
class WindowActions;
struct AttachSettings;
struct ExportRequest;
struct Frame;

/// The monitor: overview, device table, device detail and alerts over one live feed, with the embedded
/// gateway controlled from the toolbar, or the offline review of a capture. GUI thread only; the gateway
/// runs on its own threads behind a GatewayController, and data arrives through the LiveFeed's lock-free
/// queues. This class owns the gateway's lifecycle (start, stop, restart for new settings, close after the
/// last commit) and routes frames to the views; its parts each own one concern (docs/architecture.md,
/// "Layers"): WindowActions the shortcuts and toolbar, StatusPanel the status bar, AlertsWiring the alerts,
/// CaptureReview the offline review, FileMenu the File menu and exports.
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
    /// The database this window shows: the capture under review, the running gateway's, or the configured
    /// one.
    QString databasePath() const;

    /// Feeds the views from a subscription; what a gateway start does, and what the benchmark calls directly.
    void attachSubscription(std::shared_ptr<metrics::Subscription> subscription, const QString& dbPath = {});

    /// Watches the remote gateways of `settings` instead of embedding one (`fleetscope --attach URL`): no
    /// gateway starts here, the Gateways tab shows each one's overview and the device table merges them.
    /// `token` is the operator token sent to them (empty: none); `store` the store they share, read for
    /// history and exports (empty: those are off, and say why). Call once, before the window shows.
    void attachGateways(const AttachSettings& settings, const QByteArray& token, const QString& store);
    bool attached() const { return attach_ != nullptr; }
    AttachWiring* attachment() const { return attach_; }

    LiveFeed* feed() const { return feed_; }
    Dashboard* dashboard() const { return dashboard_; }
    DeviceTableModel* deviceModel() const;
    DeviceDetailPage* detailPage() const;
    TimeWindow* timeWindow() const { return window_; }
    AlertCenter* alertCenter() const;
    AlertsPage* alertsPage() const;
    /// Opens the alert rule editor (window-modal); saving writes the rules file and applies it live.
    void openAlertRules();

    /// Reviews the capture at `path` offline in this window, read-only: no gateway, the views fed by a replay
    /// of its timeline and readings. Loads on a worker thread; captureOpened or captureFailed follows.
    void openCapture(const QString& path);
    /// Reviews the capture in this window when it is offline, else in a window of its own (File → Open, and a
    /// document the desktop hands over, e.g. from macOS Finder).
    void reviewCapture(const QString& path);
    bool offline() const;
    QString capturePath() const;
    CaptureReplay* replay() const;
    ReplayBar* replayBar() const;
    /// Runs an export off the GUI thread behind a progress dialog whose Cancel stops it. The job belongs to
    /// the window and deletes itself once it has reported.
    ExportJob* startExport(const ExportRequest& request);
    /// Writes the whole window (toolbars, banner, page, status bar) as PNG or PDF; returns an error.
    [[nodiscard]] QString exportWindow(const QString& path);
    /// Records a marked span in the running gateway's session (markRecorded reports the outcome).
    void addMark(const QString& label, qint64 from_ms, qint64 to_ms);

    /// Every action with a shortcut, in menu order: the help dialog lists exactly these.
    QList<QAction*> shortcutActions() const;
    /// p99 of the recent frames, ms.
    double frameP99Ms() const;

signals:
    void gatewayStarted(const QString& listening);
    void gatewayStopped();
    void gatewayFailed(const QString& error);
    /// Attached (--attach): a remote gateway became live or went away, in words.
    void attachedGatewayChanged(const QString& state);
    void captureOpened(const QString& path);
    void captureFailed(const QString& path, const QString& error);
    void markRecorded(const QString& label, const QString& error);
    /// The running gateway took the saved rules (empty), or refused them (what is wrong).
    void alertRulesApplied(const QString& error);

protected:
    void closeEvent(QCloseEvent* event) override;

private:
    void onFrame(const Frame& frame, double frameMs);
    void onStarted(const GatewayInfo& info);
    void onStartFailed(const QString& error);
    void onStopped();
    void loadKnownDevices(const QString& dbPath);
    void updateStatus();
    void updateActions();
    void openSettings();

    Settings settings_;
    GatewayController* controller_;
    LiveFeed* feed_;
    TimeWindow* window_;
    Dashboard* dashboard_;
    WindowActions* actions_;
    FileMenu* file_menu_;
    StatusPanel* status_;
    AlertsWiring* alerts_;
    CaptureReview* review_;
    AttachWiring* attach_ = nullptr;
    QString attached_store_;
    GatewayInfo info_;
    bool running_ = false;
    bool closing_ = false;
    bool restart_after_stop_ = false;
};

} // namespace fleetscope::ui
