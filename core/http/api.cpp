// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/http/api.hpp"

#include "core/alerts/alerts.hpp"
#include "core/auth/tokens.hpp"
#include "core/http/influx_write.hpp"
#include "core/http/openapi.hpp"
#include "core/metrics/registry.hpp"
#include "core/runtime/blocking.hpp"
#include "core/runtime/handoff.hpp"
#include "core/runtime/worker.hpp"
#include "core/runtime/yield.hpp"
#include "core/store/store.hpp"
#include "core/telemetry/codec.hpp"
#include "core/telemetry/number.hpp"
#include "core/util/clock.hpp"

#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <boost/url/parse.hpp>

#include <charconv>
#include <functional>

namespace fleetscope::http {

namespace asio = boost::asio;
namespace json = boost::json;
using bhttp::status;

// ---------------------------------------------------------------------------------------------------------------
// ConnectedDevices

ConnectedDevices::Shard& ConnectedDevices::shard(const std::string& device) const
{
    return shards_[std::hash<std::string>{}(device) % shards_.size()];
}

bool ConnectedDevices::add(const std::string& device)
{
    auto& s = shard(device);
    std::lock_guard lk(s.mutex);
    return ++s.count[device] == 1;
}

bool ConnectedDevices::remove(const std::string& device)
{
    auto& s = shard(device);
    std::lock_guard lk(s.mutex);
    if (auto it = s.count.find(device); it != s.count.end() && --it->second == 0) {
        s.count.erase(it);
        return true;
    }
    return false;
}

bool ConnectedDevices::contains(const std::string& device) const
{
    auto& s = shard(device);
    std::lock_guard lk(s.mutex);
    return s.count.contains(device);
}

std::size_t ConnectedDevices::size() const
{
    std::size_t n = 0;
    for (auto& s : shards_) {
        std::lock_guard lk(s.mutex);
        n += s.count.size();
    }
    return n;
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers

namespace {

constexpr std::string_view kJson = "application/json";

using util::now_ms;

/// application/json, application/<x>+json, with any parameters; an absent Content-Type is taken as JSON, as
/// simple device firmware often sends none.
bool is_json_content_type(std::string_view ct)
{
    if (ct.empty())
        return true;
    const auto semi = ct.find(';');
    std::string_view type = ct.substr(0, semi);
    while (!type.empty() && (type.back() == ' ' || type.back() == '\t'))
        type.remove_suffix(1);
    auto lower_eq = [](std::string_view a, std::string_view b) {
        if (a.size() != b.size())
            return false;
        for (std::size_t i = 0; i < a.size(); ++i)
            if (std::tolower(static_cast<unsigned char>(a[i])) != b[i])
                return false;
        return true;
    };
    if (lower_eq(type, "application/json"))
        return true;
    return type.size() > 17 && lower_eq(type.substr(0, 12), "application/") &&
           lower_eq(type.substr(type.size() - 5), "+json");
}

std::string_view path_of(std::string_view target)
{
    return target.substr(0, target.find('?'));
}

/// Parks the calling fiber until the store committed (or failed) the samples; answers `overloaded` at once
/// when the store's queue is full.
store::CommitStatus commit(store::Writer& writer, std::vector<telemetry::Sample>&& samples)
{
    runtime::Handoff<store::CommitStatus> result;
    if (!writer.submit(std::move(samples), [&result](store::CommitStatus s) { result.deliver(s); }))
        return store::CommitStatus::overloaded;
    return result.wait();
}

/// How /metrics names a commit that did not happen (fleetscope_samples_rejected_total's reason).
metrics::Rejection rejection_of(store::CommitStatus s)
{
    switch (s) {
    case store::CommitStatus::overloaded:
        return metrics::Rejection::overloaded;
    case store::CommitStatus::full:
        return metrics::Rejection::database_full;
    case store::CommitStatus::locked:
        return metrics::Rejection::database_locked;
    case store::CommitStatus::stopped:
        return metrics::Rejection::stopping;
    case store::CommitStatus::committed:
    case store::CommitStatus::failed:
        break;
    }
    return metrics::Rejection::store_error;
}

constexpr std::string_view kBearerUsage = "send 'Authorization: Bearer <token>' with the token issued for "
                                          "the device (fleetscope-gateway token add)";
constexpr std::string_view kOperatorUsage =
    "a client off the gateway's host sends 'Authorization: Bearer <token>' with an operator token "
    "(fleetscope-gateway operator add, operator-token-file) to read devices, samples and alerts and to "
    "acknowledge alerts";

std::optional<std::int64_t> parse_int(std::string_view s)
{
    std::int64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || p != s.data() + s.size())
        return std::nullopt;
    return v;
}

// ---------------------------------------------------------------------------------------------------------------
// Routing

/// The most {name} segments a route pattern has.
constexpr std::size_t kMaxParams = 2;

/// Whether `path` matches `pattern` segment by segment; the segments matching {name} go to `params`.
bool matches(std::string_view pattern, std::string_view path,
             std::array<std::string_view, kMaxParams>& params, std::size_t& n)
{
    n = 0;
    while (!pattern.empty() && !path.empty()) {
        if (pattern.front() != '/' || path.front() != '/')
            return false;
        pattern.remove_prefix(1);
        path.remove_prefix(1);
        const std::string_view want = pattern.substr(0, pattern.find('/'));
        const std::string_view got = path.substr(0, path.find('/'));
        if (want.starts_with('{')) {
            if (got.empty() || n == kMaxParams)
                return false;
            params[n++] = got;
        } else if (want != got) {
            return false;
        }
        pattern.remove_prefix(want.size());
        path.remove_prefix(got.size());
    }
    return pattern.empty() && path.empty();
}

/// What the routes make of a method and path.
struct Match {
    const Api::Route* route = nullptr; // the route for the method (GET's for HEAD), if any
    bool path_known = false;           // some route has the path
    bool input_path = false;           // a route of the path takes its body as input
    bool operator_only = false;        // a route of the path is for operators (require_operator)
    std::array<std::string_view, kMaxParams> params{};
    std::size_t n_params = 0;

    Api::Params route_params() const { return {params.data(), n_params}; }
};

Match find_route(bhttp::verb method, std::string_view path)
{
    Match m;
    std::array<std::string_view, kMaxParams> params{};
    std::size_t n = 0;
    for (const Api::Route& r : Api::routes()) {
        if (!matches(r.pattern, path, params, n))
            continue;
        m.path_known = true;
        m.input_path = m.input_path || r.accepts != nullptr;
        m.operator_only = m.operator_only || r.operator_only;
        if (!m.route &&
            (r.method == method || (r.method == bhttp::verb::get && method == bhttp::verb::head))) {
            m.route = &r;
            m.params = params;
            m.n_params = n;
        }
    }
    return m;
}

} // namespace

// ---------------------------------------------------------------------------------------------------------------
// Api

std::span<const Api::Route> Api::routes()
{
    using bhttp::verb;
    static const Route kRoutes[] = {
        {verb::post, "/v1/telemetry", &Api::post_telemetry, &is_json_content_type, kJson},
        // InfluxDB line protocol: 1.x's and 2.x's write endpoints, as Telegraf posts them (influx_write.cpp).
        {verb::post, "/write", &Api::post_write, &influx::accepts, influx::kAccepted, false, nullptr,
         &influx::token},
        {verb::post, "/api/v2/write", &Api::post_write, &influx::accepts, influx::kAccepted, false, nullptr,
         &influx::token},
        {verb::get, "/v1/devices", &Api::get_devices, nullptr, {}, true},
        {verb::get, "/v1/devices/{device}/samples", &Api::get_samples, nullptr, {}, true},
        {verb::get, "/v1/alerts", &Api::get_alerts, nullptr, {}, true},
        {verb::post, "/v1/alerts/{id}/ack", &Api::ack_alert, nullptr, {}, true},
        {verb::get, "/metrics", &Api::get_metrics},
        {verb::get, "/healthz", &Api::get_health},
        {verb::get, "/v1/openapi.json", &Api::get_openapi},
        {verb::get, "/v1/stream", nullptr, nullptr, {}, true, &Api::open_stream},
    };
    return kRoutes;
}

Api::Api(Services services)
    : services_(std::move(services))
{}

Response Api::reply(status st, std::string_view body, std::string_view content_type,
                    const Request& request) const
{
    Response res = net::make_response(st, body, content_type, request);
    // A draining gateway closes each connection after its response: the device reconnects, and the balancer
    // puts it on a gateway that stays.
    if (draining())
        res.keep_alive(false);
    return res;
}

bool Api::draining() const
{
    return services_.draining && services_.draining->load(std::memory_order_relaxed);
}

Response Api::error(status st, std::string_view message, const Request& request) const
{
    Response res = net::error_response(st, message, request);
    if (st == status::service_unavailable)
        res.set(bhttp::field::retry_after, std::to_string(services_.settings.retry_after_seconds));
    if (st == status::unauthorized) {
        // RFC 6750: a presented but rejected token is named as such.
        const bool presented = request.find(bhttp::field::authorization) != request.end();
        res.set(bhttp::field::www_authenticate, presented
                                                    ? R"(Bearer realm="fleetscope", error="invalid_token")"
                                                    : R"(Bearer realm="fleetscope")");
    }
    return res;
}

Response Api::method_not_allowed(std::string_view path, const Request& request) const
{
    std::string allow;
    std::array<std::string_view, kMaxParams> params{};
    std::size_t n = 0;
    for (const Route& r : routes()) {
        if (!matches(r.pattern, path, params, n))
            continue;
        allow += allow.empty() ? "" : ", ";
        allow += bhttp::to_string(r.method);
        if (r.method == bhttp::verb::get)
            allow += ", HEAD";
    }
    // The message names no method: a HEAD's Content-Length must be the length of the answer to GET.
    Response res = error(status::method_not_allowed,
                         "method not allowed: " + std::string(path) + " accepts " + allow, request);
    res.set(bhttp::field::allow, allow);
    return res;
}

std::optional<Response> Api::check_header(const Request& header, net::Session&)
{
    const Match m = find_route(header.method(), path_of(header.target()));
    // Other routes take no body; a body sent anyway is read and ignored, within max-body-bytes.
    if (!m.input_path)
        return std::nullopt;
    if (!m.route)
        return method_not_allowed(path_of(header.target()), header);
    if (!m.route->accepts)
        return std::nullopt;
    return check_input(*m.route, header);
}

std::optional<Response> Api::check_input(const Route& route, const Request& h) const
{
    if (!route.accepts(h[bhttp::field::content_type]))
        return error(status::unsupported_media_type,
                     "unsupported Content-Type '" + std::string(h[bhttp::field::content_type]) +
                         "': expected " + std::string(route.accepted),
                     h);
    if (services_.tokens && route.credential) {
        if (!route.credential(h))
            return error(status::unauthorized, "device token required: " + std::string(influx::kTokenUsage),
                         h);
    } else if (services_.tokens) {
        // Checked before the body is read, so a client without a token cannot make the gateway buffer one.
        const auto field = h.find(bhttp::field::authorization);
        if (field == h.end())
            return error(status::unauthorized, "device token required: " + std::string(kBearerUsage), h);
        if (!auth::bearer_token(field->value()))
            return error(
                status::unauthorized,
                "malformed Authorization field: expected the Bearer scheme; " + std::string(kBearerUsage), h);
    }
    if (!h.chunked() && h.find(bhttp::field::content_length) == h.end()) {
        // Whatever the client sent after the header would be read as the next request.
        Response res = error(status::length_required,
                             "length required: send Content-Length (or chunked Transfer-Encoding)", h);
        res.keep_alive(false);
        return res;
    }
    // RFC 9110 13.1.1: writing telemetry has no representation to match, so any If-Match fails.
    if (net::failed_precondition(h, false))
        return error(status::precondition_failed,
                     "precondition failed: If-Match names a representation, and " +
                         std::string(route.pattern) + " has none; nothing was stored",
                     h);
    return std::nullopt;
}

net::Reply Api::handle(Request& request, net::Session& session)
{
    const std::string_view path = path_of(request.target());
    const Match m = find_route(request.method(), path);
    if (!m.path_known) {
        static const std::string kExpected = [] {
            std::string list;
            const auto all = routes();
            for (std::size_t i = 0; i < all.size(); ++i) {
                list += i == 0 ? "" : i + 1 == all.size() ? " or " : ", ";
                list += std::string(bhttp::to_string(all[i].method)) + " " + std::string(all[i].pattern);
            }
            return list;
        }();
        return error(status::not_found, "no such endpoint '" + std::string(path) + "': expected " + kExpected,
                     request);
    }
    if (m.operator_only)
        if (auto denied = require_operator(request, session))
            return std::move(*denied);
    if (!m.route)
        return method_not_allowed(path, request);
    // RFC 9110 13.2.1: preconditions are evaluated after the checks above and before the method is performed;
    // check_input did it for the routes whose body is their input, before the body was read.
    if (const auto failed = m.route->accepts
                                ? std::nullopt
                                : net::failed_precondition(request, m.route->method == bhttp::verb::get)) {
        if (*failed == status::not_modified)
            return reply(status::not_modified, {}, {}, request);
        return error(
            status::precondition_failed,
            "precondition failed: the gateway sends no entity tags, so If-Match holds only as '*' on "
            "a resource that has a representation",
            request);
    }
    if (m.route->stream)
        return (this->*(m.route->stream))(request, session, m.route_params());
    return (this->*(m.route->serve))(request, session, m.route_params());
}

std::optional<Response> Api::require_operator(const Request& request, const net::Session& session) const
{
    const auto field = request.find(bhttp::field::authorization);
    const auto authorization =
        field == request.end() ? std::nullopt : std::optional<std::string_view>(field->value());
    switch (services_.operators.check(session.loopback, authorization)) {
    case auth::OperatorVerdict::allowed:
        return std::nullopt;
    case auth::OperatorVerdict::token_required:
        return error(status::unauthorized, "operator token required: " + std::string(kOperatorUsage),
                     request);
    case auth::OperatorVerdict::token_malformed:
        return error(status::unauthorized,
                     "malformed Authorization field: expected the Bearer scheme; " +
                         std::string(kOperatorUsage),
                     request);
    case auth::OperatorVerdict::token_invalid:
        return error(status::unauthorized,
                     "the bearer token is not an operator token (a device token only writes its device's "
                     "telemetry); " +
                         std::string(kOperatorUsage),
                     request);
    case auth::OperatorVerdict::no_operators:
        break;
    }
    return error(
        status::forbidden,
        "device and alert reads and alert acknowledgements are served to loopback clients only: access "
        "control is on (token-file or operator-token-file is set) and operator-token-file is empty; use "
        "them on the gateway's host, or issue operator tokens (fleetscope-gateway operator add)",
        request);
}

void Api::on_open(net::Session& session, const boost::asio::ip::address& peer)
{
    session.loopback = auth::is_loopback_peer(peer);
}

void Api::on_close(net::Session& session) noexcept
{
    // A store shared by several gateways records who holds each device, for their /v1/devices.
    if (!session.client.empty() && services_.connected.remove(session.client))
        services_.store.writer().note_connection(session.client, false);
}

Response Api::get_health(const Request& request, net::Session&, Params)
{
    // 503 while draining: a balancer's health check then stops sending new connections here.
    return reply(draining() ? status::service_unavailable : status::ok, services_.health_json(), kJson,
                 request);
}

Response Api::get_openapi(const Request& request, net::Session&, Params)
{
    return reply(status::ok, openapi_document(), kJson, request);
}

Response Api::get_metrics(const Request& request, net::Session&, Params)
{
    return reply(status::ok, services_.metrics_text(), "text/plain; version=0.0.4; charset=utf-8", request);
}

Response Api::post_telemetry(const Request& request, net::Session& session, Params)
{
    const Settings& s = services_.settings;
    auto decoded = telemetry::decode_samples(
        request.body(), now_ms(),
        telemetry::DecodeLimits{s.max_samples_per_request, s.max_metrics_per_sample, s.max_json_depth});
    if (!decoded)
        return error(status::bad_request, decoded.error(), request);

    return store_samples(std::move(decoded).value(), auth::bearer_token(request[bhttp::field::authorization]),
                         request, session);
}

Response Api::store_samples(std::vector<telemetry::Sample>&& samples, std::optional<std::string_view> token,
                            const Request& request, net::Session& session)
{
    const Settings& s = services_.settings;
    const auto n = samples.size();
    auto& slot = services_.metrics.slot(runtime::Worker::current()->index());
    if (services_.tokens) {
        // check_header made sure a token is present. Its digest is computed once per request; each
        // sample's device must be the one the token was issued for, or nothing from the request is stored.
        const auth::Digest digest = auth::sha256(token.value_or(std::string_view{}));
        std::string_view verified;
        for (const auto& sample : samples) {
            if (sample.device == verified)
                continue;
            if (!token || !services_.tokens->verify(sample.device, digest)) {
                slot.count_rejected(metrics::Rejection::unauthorized, n);
                return error(status::unauthorized,
                             "the bearer token is not valid for device '" + sample.device +
                                 "': a token writes only the device it was issued for; nothing from this "
                                 "request was stored",
                             request);
            }
            verified = sample.device;
        }
    }

    // A connection normally posts for one device; remember the first so /v1/devices can say it is connected.
    if (session.client.empty()) {
        session.client = samples.front().device;
        if (services_.connected.add(session.client))
            services_.store.writer().note_connection(session.client, true);
    }

    slot.samples_accepted.add(n);
    const auto outcome = commit(services_.store.writer(), std::move(samples));
    if (outcome != store::CommitStatus::committed)
        slot.count_rejected(rejection_of(outcome), n);
    switch (outcome) {
    case store::CommitStatus::committed:
        slot.samples_committed.add(n);
        return reply(status::no_content, {}, {}, request);
    case store::CommitStatus::overloaded:
        return error(status::service_unavailable,
                     "overloaded: the store queue is full (store-queue = " +
                         std::to_string(s.store_queue_samples) + " samples); retry later",
                     request);
    case store::CommitStatus::stopped:
        return error(status::service_unavailable, "the gateway is stopping; retry later", request);
    case store::CommitStatus::full:
        return error(
            status::service_unavailable,
            s.store_max_bytes != 0
                ? "database full: it reached store-max-bytes = " + std::to_string(s.store_max_bytes) +
                      " bytes, or the disk is full; nothing from this request was stored; retry later"
                : std::string("disk full: the database cannot grow (store-max-bytes = 0, unlimited); "
                              "nothing from this request was stored; retry later"),
            request);
    case store::CommitStatus::locked:
        return error(status::service_unavailable,
                     "database locked by another process: its write lock was held longer than "
                     "store-busy-timeout = " +
                         std::to_string(s.store_busy_timeout.count()) +
                         " ms; nothing from this request was stored; retry later",
                     request);
    case store::CommitStatus::failed:
        break;
    }
    return error(status::service_unavailable,
                 "the store could not commit (an SQLite error other than a full or locked database; the "
                 "gateway's stderr names it); nothing from this request was stored; retry later",
                 request);
}

Response Api::read_failed(const Request& request) const
{
    // An exception must not leave the connection fiber (that ends the process). The usual cause is another
    // process holding the database exclusively (locking_mode=EXCLUSIVE) past the busy timeout; the reason
    // stays on the gateway's side, as it names a local path.
    return error(status::service_unavailable,
                 "the database cannot be read now (locked by another process for longer than "
                 "store-busy-timeout = " +
                     std::to_string(services_.settings.store_busy_timeout.count()) +
                     " ms, or an I/O error); retry later",
                 request);
}

Response Api::get_devices(const Request& request, net::Session&, Params)
{
    std::vector<store::DeviceRow> rows;
    // Across every gateway sharing the store when it is shared; else this gateway's own connections.
    std::optional<std::unordered_map<std::string, std::string>> holders;
    try {
        rows = services_.blocking.run([this, &holders] {
            const auto& reader = services_.store.reader();
            if (auto held = reader.holders()) {
                holders.emplace();
                for (auto& h : *held)
                    holders->emplace(std::move(h.device), std::move(h.gateway));
            }
            return reader.devices();
        });
    } catch (const store::StoreError&) {
        return read_failed(request);
    }
    json::array out;
    out.reserve(rows.size());
    for (auto& r : rows) {
        json::object o;
        o["device"] = r.device;
        o["first_seen"] = r.first_seen;
        o["last_seen"] = r.last_seen;
        o["samples"] = r.samples;
        std::optional<std::string> holder; // the gateway holding its connection
        if (holders) {
            if (const auto it = holders->find(r.device); it != holders->end())
                holder = it->second;
        } else if (services_.connected.contains(r.device)) {
            holder = services_.gateway_name;
        }
        o["connected"] = holder.has_value();
        if (holder)
            o["gateway"] = *holder;
        else
            o["gateway"] = nullptr;
        out.push_back(std::move(o));
    }
    return reply(status::ok, json::serialize(out), kJson, request);
}

Response Api::get_samples(const Request& request, net::Session&, Params)
{
    auto parsed = boost::urls::parse_origin_form(request.target());
    if (!parsed)
        return error(status::bad_request, "malformed request target: " + parsed.error().message(), request);

    store::SampleQuery q;
    auto segs = parsed->segments(); // percent-decoded: v1, devices, {device}, samples
    if (segs.size() != 4)
        return error(status::not_found, "expected /v1/devices/{device}/samples", request);
    q.device = *std::next(segs.begin(), 2);
    if (!telemetry::valid_identifier(q.device, 128))
        return error(status::bad_request, "device: expected 1 to 128 characters of [A-Za-z0-9._:-]", request);

    for (auto param : parsed->params()) {
        const std::string_view key = param.key;
        if (key == "metric") {
            if (!telemetry::valid_identifier(param.value, 64))
                return error(status::bad_request, "metric: expected 1 to 64 characters of [A-Za-z0-9._:-]",
                             request);
            q.metric = param.value;
        } else if (key == "from" || key == "to" || key == "limit") {
            auto v = parse_int(param.value);
            if (!v || *v < 0)
                return error(status::bad_request,
                             std::string(key) +
                                 ": expected a non-negative integer (ms since epoch for from/to)",
                             request);
            if (key == "from")
                q.from = *v;
            else if (key == "to")
                q.to = *v;
            else if (*v < 1 || *v > 100'000)
                return error(status::bad_request, "limit: expected 1 to 100000", request);
            else
                q.limit = static_cast<std::size_t>(*v);
        } else {
            return error(status::bad_request,
                         "unknown query parameter '" + std::string(key) +
                             "': expected metric, from, to, limit",
                         request);
        }
    }
    std::vector<store::SampleRow> rows;
    try {
        rows = services_.blocking.run([this, &q] { return services_.store.reader().samples(q); });
    } catch (const store::StoreError&) {
        return read_failed(request);
    }
    // Written directly so that values read as people write them (telemetry::append_number).
    std::string out;
    out.reserve(2 + rows.size() * 48);
    out += '[';
    for (const auto& r : rows) {
        if (out.size() > 1)
            out += ',';
        out += "{\"ts\":";
        out += std::to_string(r.ts);
        out += ",\"metric\":";
        out += json::serialize(json::string_view(r.metric));
        out += ",\"value\":";
        telemetry::append_number(out, r.value);
        out += '}';
    }
    out += ']';
    return reply(status::ok, std::move(out), kJson, request);
}

Response Api::get_alerts(const Request& request, net::Session&, Params)
{
    if (!services_.alerts)
        return reply(status::ok, R"({"active":[],"recent":[]})", kJson, request);
    return reply(status::ok, alerts::alerts_json(*services_.alerts), kJson, request);
}

Response Api::ack_alert(const Request& request, net::Session&, Params params)
{
    const std::string_view id_text = params[0];
    const auto id = parse_int(id_text);
    if (!id || *id <= 0)
        return error(status::bad_request,
                     "alert id '" + std::string(id_text) +
                         "': expected a positive integer, as in GET /v1/alerts",
                     request);
    if (!services_.alerts || services_.alerts->acknowledge(*id, now_ms()) == alerts::AckResult::not_found)
        return error(status::not_found,
                     "no alert " + std::to_string(*id) +
                         " among the active and recent alerts (GET /v1/alerts lists them)",
                     request);
    // Acknowledging twice is not an error: the first acknowledgement time stands.
    return reply(status::no_content, {}, {}, request);
}

} // namespace fleetscope::http
