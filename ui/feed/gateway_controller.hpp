// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "core/gateway.hpp"
#include "core/metrics/hub.hpp"
#include "core/settings.hpp"

#include <QMetaType>
#include <QObject>
#include <QString>
#include <QThread>

#include <memory>
#include <vector>

namespace fleetscope::ui {

/// What the GUI learns once the gateway accepts connections.
struct GatewayInfo {
    QString listening;
    QString db_path;
    quint64 connection_ceiling = 0;
    int effective_backlog = 0;
    unsigned workers = 0;
    bool auth = false; // device tokens required (token-file)
    bool tls = false;  // HTTPS (tls-cert and tls-key)
    std::shared_ptr<metrics::Subscription> subscription;
    // Alerts: the feed is subscribed before start, so no event is missed; the lists are the engine's state
    // right after start, which the feed's first events may repeat.
    std::shared_ptr<alerts::EventFeed> alert_feed;
    std::vector<alerts::Alert> active_alerts;
    std::vector<alerts::Alert> recent_alerts;
};

/// Owns the embedded Gateway on a thread of its own ("gateway-control"), which is the Gateway's controlling
/// thread: start() binds and opens the store, stop() drains and joins, and neither ever blocks the GUI.
/// The GUI reaches it only through queued calls (requestStart/requestStop, requestAcknowledge,
/// requestSetAlertRules) and its signals.
class GatewayController : public QObject {
    Q_OBJECT
public:
    explicit GatewayController(QObject* parent = nullptr);
    ~GatewayController() override; // stops the gateway if it runs, then joins the control thread

    /// Queued to the control thread.
    void requestStart(const fleetscope::Settings& settings);
    void requestStop();
    /// Stops the gateway and returns once it has drained and committed (a no-op when it is not running). For
    /// a quit that cannot wait for the event loop: it runs on aboutToQuit, and on Windows before the session
    /// ends. The GUI waits here; the control thread must not call it.
    void stopAndWait();
    /// Queued to the control thread: records a marked span in the running gateway's session.
    void requestMark(const QString& label, qint64 from_ms, qint64 to_ms);
    bool busy() const { return busy_; }
    /// Queued to the control thread, which asks the running gateway's alert engine; answered by
    /// alertAcknowledged (an alerts::AckResult) and alertRulesApplied (empty, or what is wrong).
    void requestAcknowledge(qint64 id);
    void requestSetAlertRules(const std::vector<alerts::Rule>& rules);

signals:
    void started(const fleetscope::ui::GatewayInfo& info);
    void startFailed(const QString& error);
    void stopped();
    /// The outcome of requestMark: `error` is empty once the mark is queued for commit.
    void markRecorded(const QString& label, const QString& error);
    void alertAcknowledged(qint64 id, int result);
    void alertRulesApplied(const QString& error);

private:
    // The two halves below run on the control thread only.
    class Worker;
    QThread thread_;
    Worker* worker_;
    bool busy_ = false;
};

} // namespace fleetscope::ui

Q_DECLARE_METATYPE(fleetscope::Settings)
Q_DECLARE_METATYPE(fleetscope::ui::GatewayInfo)
