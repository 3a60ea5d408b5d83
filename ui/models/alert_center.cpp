// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/models/alert_center.hpp"

#include "ui/feed/gateway_controller.hpp"
#include "ui/models/alert_models.hpp"
#include "ui/models/device_table_model.hpp"

#include <QIcon>
#include <QSystemTrayIcon>

#include <algorithm>

namespace fleetscope::ui {

namespace {

QString ackResultText(int result)
{
    switch (static_cast<alerts::AckResult>(result)) {
    case alerts::AckResult::acked:
        return QStringLiteral("acked");
    case alerts::AckResult::already_acked:
        return QStringLiteral("already_acked");
    case alerts::AckResult::not_found:
        return QStringLiteral("not_found");
    }
    return QStringLiteral("not_found");
}

} // namespace

AlertCenter::AlertCenter(GatewayController* controller, DeviceTableModel* devices,
                         std::size_t historyCapacity, QObject* parent)
    : QObject(parent)
    , controller_(controller)
    , devices_(devices)
    , active_(new ActiveAlertsModel(this))
    , history_(new AlertHistoryModel(historyCapacity, this))
{
    if (controller_)
        connect(controller_, &GatewayController::alertAcknowledged, this,
                [this](qint64 id, int result) { emit acknowledged(id, ackResultText(result)); });
    // Offscreen, under a bare X server or on a desktop without a tray there is nowhere to notify: no icon.
    if (QSystemTrayIcon::isSystemTrayAvailable()) {
        tray_ = new QSystemTrayIcon(QIcon(QStringLiteral(":/icons/fleetscope.png")), this);
        tray_->setToolTip(tr("FleetScope"));
        connect(tray_, &QSystemTrayIcon::messageClicked, this, &AlertCenter::notificationClicked);
        tray_->show();
    }
}

AlertCenter::~AlertCenter() = default;

int AlertCenter::activeCount() const
{
    return active_->rowCount();
}

int AlertCenter::unacknowledgedCount() const
{
    return active_->unacknowledged();
}

void AlertCenter::attach(std::shared_ptr<alerts::EventFeed> feed, std::vector<alerts::Alert> active,
                         std::vector<alerts::Alert> recent)
{
    feed_ = std::move(feed);
    // The history shows the engine's recent alerts as the events they were, in time order.
    std::vector<alerts::AlertEvent> events;
    for (const std::vector<alerts::Alert>* list : {&recent, &active}) {
        for (const alerts::Alert& a : *list) {
            events.push_back({alerts::AlertEvent::Kind::raised, a});
            if (a.acked_at)
                events.push_back({alerts::AlertEvent::Kind::acked, a});
            if (a.cleared_at)
                events.push_back({alerts::AlertEvent::Kind::cleared, a});
        }
    }
    std::stable_sort(events.begin(), events.end(), [](const auto& l, const auto& r) {
        return AlertHistoryModel::timeOf(l) < AlertHistoryModel::timeOf(r);
    });
    history_->append(events);

    per_subject_.clear();
    devices_->clearDeviceAlerts();
    for (const alerts::Alert& a : active)
        if (a.active)
            markSubject(a.subject, a.severity, +1);
    publishMarks();
    active_->reset(std::move(active));
    emitSummary();
}

void AlertCenter::detach()
{
    if (feed_)
        drain(last_clock_ms_); // what the engine said before it stopped still reaches the history
    feed_.reset();
    per_subject_.clear();
    touched_.clear();
    devices_->clearDeviceAlerts();
    active_->reset({});
    emitSummary();
}

void AlertCenter::drain(std::int64_t now_ms)
{
    if (now_ms - last_clock_ms_ >= 1000) {
        last_clock_ms_ = now_ms;
        active_->setNow(now_ms);
    }
    if (!feed_)
        return;
    batch_.clear();
    feed_->drain([this](alerts::AlertEvent& e) { batch_.push_back(std::move(e)); });
    if (!batch_.empty())
        apply(batch_);
    if (tray_ && pending_raises_ > 0 && now_ms - last_notify_ms_ >= kNotifyIntervalMs)
        notify(now_ms);
}

void AlertCenter::apply(const std::vector<alerts::AlertEvent>& events)
{
    using Kind = alerts::AlertEvent::Kind;
    // Whether each alert is active before each event: the model's state, then this batch's own changes. The
    // model then takes the whole batch at once (one reset for a flood rather than a removal per event).
    batch_active_.clear();
    for (const alerts::AlertEvent& e : events) {
        const auto seen = batch_active_.find(e.alert.id);
        const bool wasActive = seen != batch_active_.end() ? seen->second : active_->rowOfId(e.alert.id) >= 0;
        const bool isActive = e.kind != Kind::cleared && e.alert.active;
        if (!wasActive && isActive) {
            markSubject(e.alert.subject, e.alert.severity, +1);
            if (tray_ && e.kind == Kind::raised) {
                ++pending_raises_;
                last_raised_ = e.alert;
            }
        } else if (wasActive && !isActive) {
            markSubject(e.alert.subject, e.alert.severity, -1);
        }
        batch_active_[e.alert.id] = isActive;
    }
    active_->apply(events);
    history_->append(events);
    publishMarks();
    emitSummary();
}

void AlertCenter::markSubject(const std::string& subject, alerts::Severity severity, int delta)
{
    auto& counts = per_subject_[subject];
    counts[static_cast<std::size_t>(severity)] =
        std::max(0, counts[static_cast<std::size_t>(severity)] + delta);
    touched_.push_back(subject);
}

void AlertCenter::publishMarks()
{
    std::sort(touched_.begin(), touched_.end());
    touched_.erase(std::unique(touched_.begin(), touched_.end()), touched_.end());
    for (const std::string& subject : touched_) {
        const auto it = per_subject_.find(subject);
        if (it == per_subject_.end())
            continue;
        const auto& counts = it->second;
        int total = 0;
        int highest = -1;
        for (int s = 0; s < 3; ++s) {
            total += counts[static_cast<std::size_t>(s)];
            if (counts[static_cast<std::size_t>(s)] > 0)
                highest = s;
        }
        devices_->setDeviceAlerts(QString::fromStdString(subject), total, highest);
        if (total == 0)
            per_subject_.erase(it);
    }
    touched_.clear();
}

void AlertCenter::emitSummary()
{
    emit summaryChanged(active_->rowCount(), active_->unacknowledged(), active_->highestUnacknowledged());
}

void AlertCenter::notify(std::int64_t now_ms)
{
    const alerts::Alert& a = last_raised_;
    const QSystemTrayIcon::MessageIcon icon =
        a.severity == alerts::Severity::critical  ? QSystemTrayIcon::Critical
        : a.severity == alerts::Severity::warning ? QSystemTrayIcon::Warning
                                                  : QSystemTrayIcon::Information;
    if (pending_raises_ == 1)
        tray_->showMessage(tr("%1 alert: %2 on %3")
                               .arg(severityText(a.severity), QString::fromStdString(a.rule),
                                    QString::fromStdString(a.subject)),
                           QString::fromStdString(a.message), icon);
    else
        tray_->showMessage(tr("%n alert(s) raised", "", pending_raises_),
                           tr("The latest: %1 on %2: %3")
                               .arg(QString::fromStdString(a.rule), QString::fromStdString(a.subject),
                                    QString::fromStdString(a.message)),
                           icon);
    pending_raises_ = 0;
    last_notify_ms_ = now_ms;
    ++notifications_shown_;
}

void AlertCenter::acknowledge(std::int64_t id)
{
    if (acknowledger_)
        acknowledger_(id);
    else if (controller_)
        controller_->requestAcknowledge(id);
}

void AlertCenter::acknowledgeAll()
{
    for (int row = 0; row < active_->rowCount(); ++row)
        if (!active_->alertAt(row).acked_at)
            acknowledge(active_->alertAt(row).id);
}

} // namespace fleetscope::ui
