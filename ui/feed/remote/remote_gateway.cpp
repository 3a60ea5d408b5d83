// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/feed/remote/remote_gateway.hpp"

#include "core/http/stream_events.hpp"
#include "core/telemetry/codec.hpp"

#include <QDateTime>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QNetworkRequest>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

namespace fleetscope::ui {

namespace json = boost::json;

namespace {

/// What a refusal's body says ({"error": ...}), else the reply's own error text.
QString reason_of(QNetworkReply* reply, const QByteArray& body)
{
    boost::system::error_code ec;
    const json::value v = json::parse(std::string_view(body.constData(), std::size_t(body.size())), ec);
    const int status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
    if (!ec && v.is_object() && v.as_object().contains("error") && v.at("error").is_string())
        return QStringLiteral("HTTP %1: %2")
            .arg(status)
            .arg(QString::fromStdString(std::string(v.at("error").as_string())));
    return status != 0 ? QStringLiteral("HTTP %1: %2").arg(status).arg(reply->errorString())
                       : reply->errorString();
}

} // namespace

RemoteGateway::RemoteGateway(int index, QUrl base, QByteArray token, const AttachSettings& settings,
                             std::shared_ptr<metrics::Subscription> subscription,
                             std::shared_ptr<alerts::EventFeed> alerts)
    : index_(index)
    , base_(std::move(base))
    , token_(std::move(token))
    , settings_(settings)
    , subscription_(std::move(subscription))
    , alerts_(std::move(alerts))
    , retry_(new QTimer(this))
    , backoff_(settings.retry_min)
    , parser_([this](const QByteArray& event, const QByteArray& data) { dispatch(event, data); })
{
    retry_->setSingleShot(true);
    connect(retry_, &QTimer::timeout, this, &RemoteGateway::connectNow);
}

void RemoteGateway::start()
{
    // Made here, on the network thread, so that its sockets live there.
    network_ = new QNetworkAccessManager(this);
    connectNow();
}

void RemoteGateway::stop()
{
    stopped_ = true;
    retry_->stop();
    for (QNetworkReply* r : {stream_, list_})
        if (r) {
            r->disconnect(this);
            r->abort();
            r->deleteLater();
        }
    stream_ = list_ = nullptr;
}

QNetworkReply* RemoteGateway::get(const QString& path)
{
    QUrl url = base_;
    url.setPath(url.path().endsWith(QLatin1Char('/')) ? url.path() + path.mid(1) : url.path() + path);
    QNetworkRequest request(url);
    if (!token_.isEmpty())
        request.setRawHeader("Authorization", "Bearer " + token_);
    request.setAttribute(QNetworkRequest::CacheLoadControlAttribute, QNetworkRequest::AlwaysNetwork);
    // Bytes arrive every stream-interval; a stream silent for the stall timeout (or a connect that long) is
    // gone.
    request.setTransferTimeout(static_cast<int>(settings_.stall_timeout.count()));
    return network_->get(request);
}

void RemoteGateway::acknowledge(qint64 id)
{
    QUrl url = base_;
    url.setPath(QStringLiteral("/v1/alerts/%1/ack").arg(id));
    QNetworkRequest request(url);
    if (!token_.isEmpty())
        request.setRawHeader("Authorization", "Bearer " + token_);
    request.setTransferTimeout(static_cast<int>(settings_.stall_timeout.count()));
    QNetworkReply* reply = network_->post(request, QByteArray());
    connect(reply, &QNetworkReply::finished, this, [this, reply, id] {
        reply->deleteLater();
        const int status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
        emit acknowledged(index_, id,
                          status == 204   ? QStringLiteral("acked")
                          : status == 404 ? QStringLiteral("not_found")
                                          : reason_of(reply, reply->readAll()));
    });
}

void RemoteGateway::connectNow()
{
    if (stopped_)
        return;
    parser_.reset();
    emit stateChanged(index_, LinkState::Connecting, name_, {}, 0);
    stream_ = get(QStringLiteral("/v1/stream"));
    QNetworkReply* stream = stream_;
    connect(stream, &QNetworkReply::readyRead, this, [this, stream] {
        // An error answer's body is read when it finishes, for its message.
        if (stream != stream_ || stream->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt() != 200)
            return;
        parser_.feed(stream->readAll());
    });
    connect(stream, &QNetworkReply::finished, this, &RemoteGateway::streamFinished);
}

void RemoteGateway::streamFinished()
{
    QNetworkReply* stream = stream_;
    stream_ = nullptr;
    if (!stream)
        return;
    stream->deleteLater();
    if (stopped_)
        return;
    const int status = stream->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
    if (status == 200 && stream->error() == QNetworkReply::NoError)
        gone(tr("the gateway ended the stream"));
    else if (stream->error() == QNetworkReply::OperationCanceledError)
        gone(tr("no data for %1 ms (attach-stall-timeout)").arg(settings_.stall_timeout.count()));
    else
        gone(reason_of(stream, stream->readAll()));
}

void RemoteGateway::gone(const QString& why)
{
    if (list_) {
        list_->disconnect(this);
        list_->abort();
        list_->deleteLater();
        list_ = nullptr;
    }
    const Millis wait = backoff_;
    backoff_ = std::min(settings_.retry_max, backoff_ * 2);
    retry_->start(wait);
    emit stateChanged(index_, LinkState::Gone, name_, why, wait.count());
}

void RemoteGateway::listFinished()
{
    QNetworkReply* list = list_;
    list_ = nullptr;
    if (!list)
        return;
    list->deleteLater();
    if (list->error() != QNetworkReply::NoError)
        return; // the stream says whether the gateway is there; the list only seeds the table
    const QByteArray body = list->readAll();
    boost::system::error_code ec;
    const json::value v = json::parse(std::string_view(body.constData(), std::size_t(body.size())), ec);
    if (ec || !v.is_array())
        return;
    RemoteDevices devices;
    for (const json::value& d : v.as_array()) {
        if (!d.is_object())
            continue;
        const auto& o = d.as_object();
        const json::value* id = o.if_contains("device");
        if (!id || !id->is_string())
            continue;
        store::DeviceRow row;
        row.device = std::string(id->as_string());
        const auto number = [&o](const char* name) {
            const json::value* f = o.if_contains(name);
            return f && f->is_int64() ? f->as_int64() : std::int64_t{0};
        };
        row.first_seen = number("first_seen");
        row.last_seen = number("last_seen");
        row.samples = number("samples");
        if (const json::value* g = o.if_contains("gateway"); g && g->is_string())
            devices.holders.push_back({row.device, std::string(g->as_string())});
        devices.rows.push_back(std::move(row));
    }
    emit devicesListed(index_, devices);
}

void RemoteGateway::dispatch(const QByteArray& event, const QByteArray& data)
{
    boost::system::error_code ec;
    const std::string_view text(data.constData(), std::size_t(data.size()));
    if (event == "devices") {
        // The same decoder POST /v1/telemetry uses; the stream's batches are bounded by the gateway's
        // subscriber-queue, not by a request's limits.
        auto decoded = telemetry::decode_samples(text, QDateTime::currentMSecsSinceEpoch(),
                                                 telemetry::DecodeLimits{std::size_t(1) << 24, 1 << 16, 8});
        if (!decoded)
            return;
        for (const auto& sample : *decoded)
            subscription_->push_update(sample);
        return;
    }
    const json::value v = json::parse(text, ec);
    if (ec)
        return;
    if (event == "snapshot") {
        metrics::Snapshot s;
        if (http::snapshot_from_json(v, s))
            subscription_->push_snapshot(s);
    } else if (event == "alert") {
        if (auto e = http::alert_event_from_json(v); e && alerts_)
            alerts_->push(*e);
    } else if (event == "lag") {
        const auto count = [&v](const char* name) {
            const json::value* f = v.is_object() ? v.as_object().if_contains(name) : nullptr;
            boost::system::error_code number_ec;
            const quint64 n = f ? f->to_number<quint64>(number_ec) : 0;
            return number_ec ? quint64{0} : n;
        };
        emit lagged(index_, count("dropped"), count("coalesced"));
    } else if (event == "hello") {
        if (v.is_object() && v.as_object().contains("gateway") && v.at("gateway").is_string())
            name_ = QString::fromStdString(std::string(v.at("gateway").as_string()));
        backoff_ = settings_.retry_min;
        if (const auto* list = v.is_object() ? v.as_object().if_contains("alerts") : nullptr;
            list && list->is_object() && alerts_)
            if (const auto* active = list->as_object().if_contains("active"); active && active->is_array())
                for (const json::value& a : active->as_array())
                    if (auto alert = http::alert_from_json(a))
                        alerts_->push(
                            alerts::AlertEvent{alerts::AlertEvent::Kind::raised, std::move(*alert)});
        emit stateChanged(index_, LinkState::Live, name_, {}, 0);
        // The devices the gateway (or the store it shares) knows, once per connection, for the table.
        if (!list_) {
            list_ = get(QStringLiteral("/v1/devices"));
            connect(list_, &QNetworkReply::finished, this, &RemoteGateway::listFinished);
        }
    }
}

} // namespace fleetscope::ui
