// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "core/alerts/alerts.hpp"

#include <QObject>

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

class QSystemTrayIcon;

namespace fleetscope::ui {

class ActiveAlertsModel;
class AlertHistoryModel;
class DeviceTableModel;
class GatewayController;

/// The monitor's side of the alert engine. GUI thread only: it is the single consumer of the engine's
/// lock-free EventFeed, drained once per frame on the LiveFeed's timer, so the GUI never takes a lock of the
/// core; it reaches the engine itself (acknowledge) only through GatewayController's queued requests.
/// It keeps the active and history models, the device rows' alert marks and the overview's summary current,
/// and shows a desktop notification on a raise where the platform has a system tray.
class AlertCenter : public QObject {
    Q_OBJECT
public:
    AlertCenter(GatewayController* controller, DeviceTableModel* devices, std::size_t historyCapacity,
                QObject* parent = nullptr);
    ~AlertCenter() override;

    /// A gateway started: its feed, and the engine's state right after start.
    void attach(std::shared_ptr<alerts::EventFeed> feed, std::vector<alerts::Alert> active,
                std::vector<alerts::Alert> recent);
    /// The gateway stopped: its alerts ended with it. The history stays.
    void detach();
    bool attached() const { return feed_ != nullptr; }

    /// Applies every event queued since the last call. Called once per frame.
    void drain(std::int64_t now_ms);

    void acknowledge(std::int64_t id);
    /// Where acknowledge() goes instead of the embedded gateway's controller: the attached remote gateways
    /// (MainWindow::attachGateways), which answer through reportAcknowledged.
    void setAcknowledger(std::function<void(std::int64_t)> acknowledger)
    {
        acknowledger_ = std::move(acknowledger);
    }
    void reportAcknowledged(qint64 id, const QString& result) { emit acknowledged(id, result); }
    /// Every active alert not yet acknowledged.
    void acknowledgeAll();

    ActiveAlertsModel* activeModel() const { return active_; }
    AlertHistoryModel* historyModel() const { return history_; }
    int activeCount() const;
    int unacknowledgedCount() const;
    /// Events the feed dropped because the GUI lagged (the panel then shows what it could apply).
    std::uint64_t droppedEvents() const { return feed_ ? feed_->dropped() : 0; }
    bool notificationsAvailable() const { return tray_ != nullptr; }
    int notificationsShown() const { return notifications_shown_; }

    /// At most one desktop notification this often; the raises in between are summed into the next one.
    static constexpr std::int64_t kNotifyIntervalMs = 3000;

signals:
    /// Active alerts, of which unacknowledged, and the highest unacknowledged severity (-1: none).
    void summaryChanged(int active, int unacknowledged, int severity);
    /// The engine answered an acknowledgement: "acked", "already_acked" or "not_found".
    void acknowledged(qint64 id, const QString& result);
    /// The user clicked a desktop notification.
    void notificationClicked();

private:
    void apply(const std::vector<alerts::AlertEvent>& events);
    void markSubject(const std::string& subject, alerts::Severity severity, int delta);
    void publishMarks();
    void notify(std::int64_t now_ms);
    void emitSummary();

    GatewayController* controller_;
    std::function<void(std::int64_t)> acknowledger_;
    DeviceTableModel* devices_;
    ActiveAlertsModel* active_;
    AlertHistoryModel* history_;
    std::shared_ptr<alerts::EventFeed> feed_;
    std::vector<alerts::AlertEvent> batch_;
    std::unordered_map<std::int64_t, bool> batch_active_;
    // Active alerts per subject and severity, so a device's mark updates in O(1) per event.
    std::unordered_map<std::string, std::array<int, 3>> per_subject_;
    std::vector<std::string> touched_;
    QSystemTrayIcon* tray_ = nullptr;
    int pending_raises_ = 0;
    alerts::Alert last_raised_;
    std::int64_t last_notify_ms_ = 0;
    std::int64_t last_clock_ms_ = 0;
    int notifications_shown_ = 0;
};

} // namespace fleetscope::ui
