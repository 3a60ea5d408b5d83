// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/feed/gateway_controller.hpp"

#include <QCoreApplication>
#include <QDateTime>

#include <exception>

namespace fleetscope::ui {

/// Lives on the control thread; every member is touched there only.
class GatewayController::Worker : public QObject {
    Q_OBJECT
public:
    void start(const Settings& settings)
    {
        try {
            gateway_.reset();
            auto gateway = std::make_unique<Gateway>(settings);
            auto alertFeed = gateway->alerts().subscribe(settings.subscriber_queue);
            gateway->start();
            GatewayInfo info;
            info.listening = QString::fromStdString(gateway->listening_address());
            info.db_path = QString::fromStdString(gateway->db_path());
            info.connection_ceiling = gateway->connection_ceiling();
            info.effective_backlog = gateway->effective_backlog();
            info.workers = resolved_workers(gateway->settings());
            info.auth = gateway->auth_enabled();
            info.tls = gateway->tls_enabled();
            info.subscription = gateway->subscribe();
            info.alert_feed = std::move(alertFeed);
            info.active_alerts = gateway->alerts().active();
            info.recent_alerts = gateway->alerts().recent(settings.alerts_recent);
            gateway_ = std::move(gateway);
            emit started(info);
        } catch (const std::exception& e) {
            gateway_.reset();
            emit startFailed(QString::fromUtf8(e.what()));
        }
    }

    void stop()
    {
        if (gateway_) {
            gateway_->stop();
            gateway_.reset();
        }
        emit stopped();
    }

    void mark(const QString& label, qint64 from_ms, qint64 to_ms)
    {
        const std::string error = gateway_ ? gateway_->add_mark(label.toStdString(), from_ms, to_ms).error()
                                           : std::string("cannot mark a span: the gateway is not running");
        emit markRecorded(label, QString::fromStdString(error));
    }

    void acknowledge(qint64 id)
    {
        const alerts::AckResult result =
            gateway_ ? gateway_->alerts().acknowledge(id, QDateTime::currentMSecsSinceEpoch())
                     : alerts::AckResult::not_found;
        emit alertAcknowledged(id, static_cast<int>(result));
    }

    void setAlertRules(std::vector<alerts::Rule> rules)
    {
        // Stopped, there is nothing to apply to: the next start loads the rules file.
        emit alertRulesApplied(
            gateway_ ? QString::fromStdString(gateway_->set_alert_rules(std::move(rules)).error())
                     : QString());
    }

signals:
    void started(const fleetscope::ui::GatewayInfo& info);
    void startFailed(const QString& error);
    void stopped();
    void markRecorded(const QString& label, const QString& error);
    void alertAcknowledged(qint64 id, int result);
    void alertRulesApplied(const QString& error);

private:
    std::unique_ptr<Gateway> gateway_;
};

GatewayController::GatewayController(QObject* parent)
    : QObject(parent)
    , worker_(new Worker)
{
    qRegisterMetaType<fleetscope::Settings>();
    qRegisterMetaType<fleetscope::ui::GatewayInfo>();
    thread_.setObjectName(QStringLiteral("gateway-control"));
    worker_->moveToThread(&thread_);
    connect(&thread_, &QThread::finished, worker_, &QObject::deleteLater);
    connect(worker_, &Worker::started, this, [this](const GatewayInfo& info) {
        busy_ = false;
        emit started(info);
    });
    connect(worker_, &Worker::startFailed, this, [this](const QString& error) {
        busy_ = false;
        emit startFailed(error);
    });
    connect(worker_, &Worker::stopped, this, [this] {
        busy_ = false;
        emit stopped();
    });
    connect(worker_, &Worker::markRecorded, this, &GatewayController::markRecorded);
    connect(worker_, &Worker::alertAcknowledged, this, &GatewayController::alertAcknowledged);
    connect(worker_, &Worker::alertRulesApplied, this, &GatewayController::alertRulesApplied);
    // However the application quits (the last window closed, a signal, the session ending), the gateway
    // drains and commits before the event loop's caller goes on to exit.
    if (QCoreApplication::instance())
        connect(QCoreApplication::instance(), &QCoreApplication::aboutToQuit, this,
                &GatewayController::stopAndWait);
    thread_.start();
}

GatewayController::~GatewayController()
{
    // The queued stop runs before the quit: at exit the GUI has nothing left to draw, so waiting here for the
    // final commit is the one wait on the core that we accept.
    QMetaObject::invokeMethod(
        worker_, [w = worker_] { w->stop(); }, Qt::QueuedConnection);
    thread_.quit();
    thread_.wait();
}

void GatewayController::requestStart(const Settings& settings)
{
    busy_ = true;
    QMetaObject::invokeMethod(
        worker_, [w = worker_, settings] { w->start(settings); }, Qt::QueuedConnection);
}

void GatewayController::requestMark(const QString& label, qint64 from_ms, qint64 to_ms)
{
    QMetaObject::invokeMethod(
        worker_, [w = worker_, label, from_ms, to_ms] { w->mark(label, from_ms, to_ms); },
        Qt::QueuedConnection);
}

void GatewayController::requestAcknowledge(qint64 id)
{
    QMetaObject::invokeMethod(
        worker_, [w = worker_, id] { w->acknowledge(id); }, Qt::QueuedConnection);
}

void GatewayController::requestSetAlertRules(const std::vector<alerts::Rule>& rules)
{
    QMetaObject::invokeMethod(
        worker_, [w = worker_, rules] { w->setAlertRules(rules); }, Qt::QueuedConnection);
}

void GatewayController::stopAndWait()
{
    QMetaObject::invokeMethod(
        worker_, [w = worker_] { w->stop(); }, Qt::BlockingQueuedConnection);
}

void GatewayController::requestStop()
{
    busy_ = true;
    QMetaObject::invokeMethod(
        worker_, [w = worker_] { w->stop(); }, Qt::QueuedConnection);
}

} // namespace fleetscope::ui

#include "gateway_controller.moc"
