// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "core/alerts/alerts.hpp"
#include "core/metrics/hub.hpp"
#include "ui/feed/remote/attach_settings.hpp"
#include "ui/feed/remote/remote_gateway.hpp"

#include <QObject>
#include <QString>
#include <QThread>

#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

namespace fleetscope::ui {

/// The monitor's side of `--attach`: one RemoteGateway per URL on one network thread ("remote-feed"), and
/// for each the consumer ends of its queues and the state the GUI shows. The object and its records live on
/// the GUI thread; the RemoteGateways are reached only by queued calls, and report by queued signals.
class RemoteFeeds : public QObject {
    Q_OBJECT
public:
    struct Gateway {
        QString url;
        QString name; // from the gateway's hello; the URL's host:port until one arrived
        LinkState state = LinkState::Connecting;
        QString detail;             // why it is gone
        qint64 retry_ms = 0;        // when it is tried again, once gone
        int connections = 0;        // times its stream opened (1 once live, 2 after a reconnect, ...)
        quint64 remote_dropped = 0; // events the gateway dropped for this monitor's stream
        // Producer: the network thread. Consumer: the GUI thread (AttachWiring, on the frame timer).
        std::shared_ptr<metrics::Subscription> subscription;
    };

    /// `token`: the operator token sent to every gateway (empty: none). `queue` bounds each gateway's
    /// device-update queue, as subscriber-queue does an embedded subscription.
    RemoteFeeds(const AttachSettings& settings, QByteArray token, std::size_t queue,
                QObject* parent = nullptr);
    ~RemoteFeeds() override; // stops every stream, then joins the network thread

    void start();
    int count() const { return static_cast<int>(gateways_.size()); }
    const Gateway& gateway(int index) const { return gateways_.at(static_cast<std::size_t>(index)); }
    /// "gw-a live · gw-b gone" for the status bar.
    QString summary() const;
    /// Every gateway's alert events in one feed (its one producer is the network thread), for the
    /// AlertCenter. A gateway's active alerts arrive as `raised` events when its stream opens.
    const std::shared_ptr<alerts::EventFeed>& alerts() const { return alerts_; }
    /// Asks every gateway to acknowledge alert `id` (the one that raised it knows it; the others answer 404).
    /// acknowledged follows once all answered: "acked" when one did, else the first other answer.
    void acknowledge(qint64 id);

signals:
    void gatewayChanged(int index);
    void devicesListed(int index, const fleetscope::ui::RemoteDevices& devices);
    void acknowledged(qint64 id, const QString& result);

private:
    void onState(int index, LinkState state, const QString& name, const QString& detail, qint64 retry_ms);

    QThread thread_;
    std::shared_ptr<alerts::EventFeed> alerts_;
    std::vector<Gateway> gateways_;
    std::vector<RemoteGateway*> links_; // live on thread_
    struct PendingAck {
        int answers = 0;
        QString result;
    };
    std::unordered_map<qint64, PendingAck> acks_;
};

} // namespace fleetscope::ui
