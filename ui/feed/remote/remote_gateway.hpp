// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "core/alerts/alerts.hpp"
#include "core/metrics/hub.hpp"
#include "core/store/types.hpp"
#include "ui/feed/remote/attach_settings.hpp"
#include "ui/feed/remote/sse_parser.hpp"

#include <QMetaType>
#include <QObject>
#include <QTimer>
#include <QUrl>

#include <memory>
#include <vector>

class QNetworkAccessManager;
class QNetworkReply;

namespace fleetscope::ui {

/// What GET /v1/devices of one remote gateway listed when its stream (re)connected.
struct RemoteDevices {
    std::vector<store::DeviceRow> rows;
    std::vector<store::DeviceHolder> holders; // devices with an open connection, and the gateway holding it
};

/// Where a remote gateway stands, as the monitor shows it.
enum class LinkState { Connecting, Live, Gone };

/// One remote gateway's GET /v1/stream, read as it arrives with Qt Network and decoded where it arrives: on
/// the remote feed's network thread ("remote-feed"), which owns this object and is the single producer of
/// its queues. Snapshots and committed samples go into `subscription` and alert events into `alerts`, the
/// same lock-free queues an embedded gateway fills, so the GUI thread drains them on its frame timer and
/// never waits on the network. A stream that fails, ends or stays silent past the stall timeout is "gone"
/// and reconnects after a back-off that doubles from retry-min to retry-max and starts again once a hello
/// arrives. The GUI learns states and device lists through queued signals.
class RemoteGateway : public QObject {
    Q_OBJECT
public:
    RemoteGateway(int index, QUrl base, QByteArray token, const AttachSettings& settings,
                  std::shared_ptr<metrics::Subscription> subscription,
                  std::shared_ptr<alerts::EventFeed> alerts);

    /// Network thread: connects (and keeps reconnecting) until stop().
    void start();
    void stop();
    /// Network thread: POST /v1/alerts/{id}/ack to this gateway; answered by acknowledged.
    void acknowledge(qint64 id);

signals:
    /// `name` is the gateway's (from its hello; empty before the first), `detail` why it is gone, `retry_ms`
    /// when it is tried again.
    void stateChanged(int index, fleetscope::ui::LinkState state, const QString& name, const QString& detail,
                      qint64 retry_ms);
    void devicesListed(int index, const fleetscope::ui::RemoteDevices& devices);
    /// The gateway dropped or coalesced events for this monitor (its `lag` event): totals for this stream.
    void lagged(int index, quint64 dropped, quint64 coalesced);
    /// How this gateway answered an acknowledgement: "acked", "not_found", or what failed.
    void acknowledged(int index, qint64 id, const QString& result);

private:
    void connectNow();
    void dispatch(const QByteArray& event, const QByteArray& data);
    void streamFinished();
    void listFinished();
    QNetworkReply* get(const QString& path);
    void gone(const QString& why);

    int index_;
    QUrl base_;
    QByteArray token_;
    AttachSettings settings_;
    std::shared_ptr<metrics::Subscription> subscription_;
    std::shared_ptr<alerts::EventFeed> alerts_;
    QNetworkAccessManager* network_ = nullptr;
    QNetworkReply* stream_ = nullptr;
    QNetworkReply* list_ = nullptr;
    QTimer* retry_; // a child, so that it moves to the network thread with this object
    Millis backoff_;
    SseParser parser_;
    QString name_;
    bool stopped_ = false;
};

} // namespace fleetscope::ui

Q_DECLARE_METATYPE(fleetscope::ui::RemoteDevices)
Q_DECLARE_METATYPE(fleetscope::ui::LinkState)
