// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/feed/remote/remote_feeds.hpp"

#include <QUrl>

namespace fleetscope::ui {

RemoteFeeds::RemoteFeeds(const AttachSettings& settings, QByteArray token, std::size_t queue, QObject* parent)
    : QObject(parent)
    , alerts_(std::make_shared<alerts::EventFeed>(4096))
{
    qRegisterMetaType<fleetscope::ui::RemoteDevices>();
    qRegisterMetaType<fleetscope::ui::LinkState>();
    thread_.setObjectName(QStringLiteral("remote-feed"));
    for (const QString& url : settings.urls) {
        Gateway g;
        g.url = url;
        const QUrl parsed(url);
        g.name =
            parsed.port() > 0 ? QStringLiteral("%1:%2").arg(parsed.host()).arg(parsed.port()) : parsed.host();
        g.subscription = std::make_shared<metrics::Subscription>(queue);
        const int index = static_cast<int>(gateways_.size());
        auto* link = new RemoteGateway(index, parsed, token, settings, g.subscription, alerts_);
        link->moveToThread(&thread_);
        connect(link, &RemoteGateway::stateChanged, this, &RemoteFeeds::onState);
        connect(link, &RemoteGateway::devicesListed, this, &RemoteFeeds::devicesListed);
        connect(link, &RemoteGateway::lagged, this, [this](int i, quint64 dropped, quint64) {
            gateways_[static_cast<std::size_t>(i)].remote_dropped = dropped;
        });
        connect(link, &RemoteGateway::acknowledged, this, [this](int, qint64 id, const QString& result) {
            PendingAck& p = acks_[id];
            if (p.result != QLatin1String("acked") &&
                (p.result.isEmpty() || result == QLatin1String("acked")))
                p.result = result;
            if (++p.answers == count()) {
                const QString outcome = p.result;
                acks_.erase(id);
                emit acknowledged(id, outcome);
            }
        });
        connect(&thread_, &QThread::finished, link, &QObject::deleteLater);
        gateways_.push_back(std::move(g));
        links_.push_back(link);
    }
}

RemoteFeeds::~RemoteFeeds()
{
    if (!thread_.isRunning()) {
        qDeleteAll(links_);
        return;
    }
    for (RemoteGateway* link : links_)
        QMetaObject::invokeMethod(link, &RemoteGateway::stop, Qt::BlockingQueuedConnection);
    thread_.quit();
    thread_.wait();
}

void RemoteFeeds::start()
{
    thread_.start();
    for (RemoteGateway* link : links_)
        QMetaObject::invokeMethod(link, &RemoteGateway::start, Qt::QueuedConnection);
}

void RemoteFeeds::onState(int index, LinkState state, const QString& name, const QString& detail,
                          qint64 retry_ms)
{
    Gateway& g = gateways_.at(static_cast<std::size_t>(index));
    if (!name.isEmpty())
        g.name = name;
    if (state == LinkState::Live && g.state != LinkState::Live)
        ++g.connections;
    g.state = state;
    g.detail = detail;
    g.retry_ms = retry_ms;
    emit gatewayChanged(index);
}

void RemoteFeeds::acknowledge(qint64 id)
{
    for (RemoteGateway* link : links_)
        QMetaObject::invokeMethod(
            link, [link, id] { link->acknowledge(id); }, Qt::QueuedConnection);
}

QString RemoteFeeds::summary() const
{
    QStringList parts;
    for (const Gateway& g : gateways_)
        parts << (g.state == LinkState::Live         ? tr("%1 live").arg(g.name)
                  : g.state == LinkState::Connecting ? tr("%1 connecting").arg(g.name)
                                                     : tr("%1 gone").arg(g.name));
    return parts.join(QStringLiteral(" · "));
}

} // namespace fleetscope::ui
