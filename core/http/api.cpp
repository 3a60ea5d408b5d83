// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/http/api.hpp"

#include "core/metrics/registry.hpp"
#include "core/runtime/blocking.hpp"
#include "core/runtime/handoff.hpp"
#include "core/runtime/worker.hpp"
#include "core/runtime/yield.hpp"
#include "core/store/store.hpp"
#include "core/telemetry/codec.hpp"

#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
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

void ConnectedDevices::add(const std::string& device)
{
    auto& s = shard(device);
    std::lock_guard lk(s.mutex);
    ++s.count[device];
}

void ConnectedDevices::remove(const std::string& device)
{
    auto& s = shard(device);
    std::lock_guard lk(s.mutex);
    if (auto it = s.count.find(device); it != s.count.end() && --it->second == 0)
        s.count.erase(it);
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
constexpr std::string_view kTelemetryPath = "/v1/telemetry";
constexpr std::string_view kDevicesPath = "/v1/devices";

std::int64_t now_ms()
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

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
store::CommitStatus commit(store::Store& store, std::vector<telemetry::Sample>&& samples)
{
    runtime::Handoff<store::CommitStatus> result;
    if (!store.submit(std::move(samples), [&result](store::CommitStatus s) { result.deliver(s); }))
        return store::CommitStatus::overloaded;
    return result.wait();
}

/// A message may quote what the client sent (a path, a header value, a query key), and those bytes may be
/// anything, but a JSON body must be valid UTF-8. Bytes outside printable ASCII are written as \xNN, as the
/// telemetry codec quotes body text.
std::string printable(std::string_view s)
{
    constexpr std::string_view kHex = "0123456789abcdef";
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte >= 0x20 && byte < 0x7f) {
            out += c;
        } else {
            out += "\\x";
            out += kHex[byte >> 4];
            out += kHex[byte & 0xf];
        }
    }
    return out;
}

std::optional<std::int64_t> parse_int(std::string_view s)
{
    std::int64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || p != s.data() + s.size())
        return std::nullopt;
    return v;
}

} // namespace

// ---------------------------------------------------------------------------------------------------------------
// Api

Api::Api(Services services)
    : services_(std::move(services))
{}

Response Api::reply(status st, std::string body, std::string_view content_type, const Request& request) const
{
    const Allocator alloc = request.get_allocator();
    Response res{std::piecewise_construct, std::make_tuple(alloc), std::make_tuple(alloc)};
    res.result(st);
    res.version(request.version());
    res.set(bhttp::field::server, "FleetScope/" FLEETSCOPE_VERSION);
    if (!body.empty())
        res.set(bhttp::field::content_type, content_type);
    res.body().assign(body.data(), body.size());
    res.keep_alive(request.keep_alive());
    res.prepare_payload();
    return res;
}

Response Api::error(status st, std::string_view message, const Request& request) const
{
    json::object o;
    o["error"] = printable(message);
    Response res = reply(st, json::serialize(o), kJson, request);
    if (st == status::service_unavailable)
        res.set(bhttp::field::retry_after, std::to_string(services_.settings.retry_after_seconds));
    if (st == status::method_not_allowed) {
        const std::string_view path = path_of(request.target());
        res.set(bhttp::field::allow, path == kTelemetryPath ? "POST" : "GET");
    }
    return res;
}

std::optional<Response> Api::check_header(const Request& h) const
{
    const std::string_view path = path_of(h.target());
    if (path != kTelemetryPath) {
        // Other routes take no body; their method is checked in handle(). A body sent anyway is read and
        // ignored, and Beast reserves an announced Content-Length when the body starts, so the bound on it
        // holds for every route.
        return check_length(h);
    }
    if (h.method() != bhttp::verb::post)
        return error(status::method_not_allowed, "method not allowed: /v1/telemetry accepts POST", h);
    if (!is_json_content_type(h[bhttp::field::content_type]))
        return error(status::unsupported_media_type,
                     "unsupported Content-Type '" + std::string(h[bhttp::field::content_type]) +
                         "': expected application/json",
                     h);
    const bool chunked = h.chunked();
    const bool has_length = h.find(bhttp::field::content_length) != h.end();
    if (!chunked && !has_length)
        return error(status::length_required,
                     "length required: send Content-Length (or chunked Transfer-Encoding)", h);
    return check_length(h);
}

std::optional<Response> Api::check_length(const Request& h) const
{
    if (h.find(bhttp::field::content_length) == h.end())
        return std::nullopt;
    const auto len = parse_int(h[bhttp::field::content_length]);
    if (len && static_cast<std::uint64_t>(*len) > services_.settings.max_body_bytes)
        return error(status::payload_too_large,
                     "body of " + std::to_string(*len) + " bytes is too large: at most " +
                         std::to_string(services_.settings.max_body_bytes) + " bytes (max-body-bytes)",
                     h);
    return std::nullopt;
}

Response Api::handle(const Request& request, ConnectionState& connection)
{
    const std::string_view target = request.target();
    const std::string_view path = path_of(target);
    if (path == kTelemetryPath)
        return post_telemetry(request, connection);

    const bool is_get = request.method() == bhttp::verb::get;
    if (path == "/healthz") {
        if (!is_get)
            return error(status::method_not_allowed, "method not allowed: /healthz accepts GET", request);
        return reply(status::ok, services_.health_json(), kJson, request);
    }
    if (path == "/metrics") {
        if (!is_get)
            return error(status::method_not_allowed, "method not allowed: /metrics accepts GET", request);
        return reply(status::ok, services_.metrics_text(), "text/plain; version=0.0.4; charset=utf-8",
                     request);
    }
    if (path == kDevicesPath) {
        if (!is_get)
            return error(status::method_not_allowed, "method not allowed: /v1/devices accepts GET", request);
        return get_devices(request);
    }
    constexpr std::string_view kPrefix = "/v1/devices/";
    constexpr std::string_view kSuffix = "/samples";
    if (path.starts_with(kPrefix) && path.ends_with(kSuffix) &&
        path.size() > kPrefix.size() + kSuffix.size()) {
        if (!is_get)
            return error(status::method_not_allowed, "method not allowed: samples accept GET", request);
        return get_samples(request);
    }
    return error(status::not_found,
                 "no such endpoint '" + std::string(path) +
                     "': expected POST /v1/telemetry, GET /v1/devices, GET /v1/devices/{device}/samples, "
                     "GET /metrics or GET /healthz",
                 request);
}

void Api::on_close(const ConnectionState& connection)
{
    if (!connection.device.empty())
        services_.connected.remove(connection.device);
}

Response Api::post_telemetry(const Request& request, ConnectionState& connection)
{
    const Settings& s = services_.settings;
    auto decoded = telemetry::decode_samples(
        request.body(), now_ms(),
        telemetry::DecodeLimits{s.max_samples_per_request, s.max_metrics_per_sample, s.max_json_depth});
    if (!decoded.ok())
        return error(status::bad_request, decoded.error, request);

    // A connection normally posts for one device; remember the first so /v1/devices can say it is connected.
    if (connection.device.empty()) {
        connection.device = decoded.samples.front().device;
        services_.connected.add(connection.device);
    }

    const auto n = decoded.samples.size();
    auto& slot = services_.metrics.slot(runtime::Worker::current()->index());
    slot.samples_accepted.add(n);
    switch (commit(services_.store, std::move(decoded.samples))) {
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
    case store::CommitStatus::failed:
        break;
    }
    return error(
        status::service_unavailable,
        "the store could not commit (disk full, or the database is locked by another process); nothing "
        "from this request was stored; retry later",
        request);
}

Response Api::get_devices(const Request& request)
{
    auto rows = services_.blocking.run([this] { return services_.store.devices(); });
    json::array out;
    out.reserve(rows.size());
    for (auto& r : rows) {
        json::object o;
        o["device"] = r.device;
        o["first_seen"] = r.first_seen;
        o["last_seen"] = r.last_seen;
        o["samples"] = r.samples;
        o["connected"] = services_.connected.contains(r.device);
        out.push_back(std::move(o));
    }
    return reply(status::ok, json::serialize(out), kJson, request);
}

Response Api::get_samples(const Request& request)
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
    auto rows = services_.blocking.run([this, &q] { return services_.store.samples(q); });
    json::array out;
    out.reserve(rows.size());
    for (auto& r : rows) {
        json::object o;
        o["ts"] = r.ts;
        o["metric"] = r.metric;
        o["value"] = r.value;
        out.push_back(std::move(o));
    }
    return reply(status::ok, json::serialize(out), kJson, request);
}

} // namespace fleetscope::http
