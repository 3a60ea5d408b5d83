// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/http/stream_events.hpp"

#include "core/telemetry/number.hpp"

#include <boost/json/serialize.hpp>

#include <type_traits>

namespace fleetscope::http {

namespace json = boost::json;

namespace {

/// Calls f(name, field) for every scalar field of a snapshot, so that writing and reading share one list.
template <class S, class F>
void for_each_scalar(S& s, F&& f)
{
    f("at_ms", s.at_ms);
    f("uptime_ms", s.uptime_ms);
    f("connections_open", s.connections_open);
    f("accepted_total", s.accepted_total);
    f("accept_backoffs", s.accept_backoffs);
    f("connection_ceiling", s.connection_ceiling);
    f("fd_limit", s.fd_limit);
    f("open_fds", s.open_fds);
    f("listen_queue", s.listen_queue);
    f("listen_queue_limit", s.listen_queue_limit);
    f("listen_overflows", s.listen_overflows);
    f("listen_drops", s.listen_drops);
    f("samples_committed", s.samples_committed);
    f("ack_p50_ms", s.ack_p50_ms);
    f("ack_p99_ms", s.ack_p99_ms);
    f("devices_connected", s.devices_connected);
    f("store_queue", s.store_queue);
    f("store_batches", s.store_batches);
    f("store_last_batch", s.store_last_batch);
    f("commit_p50_ms", s.commit_p50_ms);
    f("commit_p99_ms", s.commit_p99_ms);
    f("database_bytes", s.database_bytes);
    f("rss_bytes", s.rss_bytes);
    f("virtual_memory_bytes", s.virtual_memory_bytes);
    f("cpu_seconds", s.cpu_seconds);
    f("start_time_seconds", s.start_time_seconds);
    f("dropped_updates", s.dropped_updates);
}

template <class T>
bool read_number(const json::value* v, T& out)
{
    if (!v)
        return false;
    if constexpr (std::is_floating_point_v<T>) {
        if (!v->is_number())
            return false;
        out = static_cast<T>(v->to_number<double>());
        return true;
    } else {
        boost::system::error_code ec;
        const T n = v->to_number<T>(ec);
        if (ec)
            return false;
        out = n;
        return true;
    }
}

template <std::size_t N>
json::array to_array(const std::array<std::uint64_t, N>& a)
{
    return json::array(a.begin(), a.end());
}

template <std::size_t N>
bool from_array(const json::value* v, std::array<std::uint64_t, N>& out)
{
    if (!v || !v->is_array() || v->as_array().size() != N)
        return false;
    for (std::size_t i = 0; i < N; ++i)
        if (!read_number(&v->as_array()[i], out[i]))
            return false;
    return true;
}

json::object buckets_json(const metrics::LatencyBuckets& b)
{
    return {{"below", to_array(b.below)}, {"count", b.count}, {"sum_ns", b.sum_ns}};
}

bool buckets_from(const json::value* v, metrics::LatencyBuckets& out)
{
    if (!v || !v->is_object())
        return false;
    const auto& o = v->as_object();
    return from_array(o.if_contains("below"), out.below) && read_number(o.if_contains("count"), out.count) &&
           read_number(o.if_contains("sum_ns"), out.sum_ns);
}

std::optional<std::int64_t> optional_time(const json::value* v, bool& ok)
{
    if (!v || v->is_null())
        return std::nullopt;
    std::int64_t t = 0;
    ok = ok && read_number(v, t);
    return t;
}

} // namespace

std::string snapshot_json(const metrics::Snapshot& s)
{
    json::object o;
    for_each_scalar(s, [&o](const char* name, const auto& field) { o[name] = field; });
    o["responses_by_class"] = to_array(s.responses_by_class);
    o["samples_rejected"] = to_array(s.samples_rejected);
    o["ack_latency"] = buckets_json(s.ack_latency);
    o["commit_latency"] = buckets_json(s.commit_latency);
    json::array workers;
    workers.reserve(s.workers.size());
    for (const auto& w : s.workers)
        workers.push_back(json::object{{"ready_depth", w.ready_depth},
                                       {"fibers_alive", w.fibers_alive},
                                       {"context_switches", w.context_switches},
                                       {"idle_ns", w.idle_ns},
                                       {"connections", w.connections},
                                       {"parked", w.parked}});
    o["workers"] = std::move(workers);
    return json::serialize(o);
}

bool snapshot_from_json(const json::value& v, metrics::Snapshot& out)
{
    if (!v.is_object())
        return false;
    const auto& o = v.as_object();
    bool ok = true;
    for_each_scalar(
        out, [&](const char* name, auto& field) { ok = ok && read_number(o.if_contains(name), field); });
    ok = ok && from_array(o.if_contains("responses_by_class"), out.responses_by_class) &&
         from_array(o.if_contains("samples_rejected"), out.samples_rejected) &&
         buckets_from(o.if_contains("ack_latency"), out.ack_latency) &&
         buckets_from(o.if_contains("commit_latency"), out.commit_latency);
    const json::value* workers = o.if_contains("workers");
    if (!ok || !workers || !workers->is_array())
        return false;
    out.workers.clear();
    for (const json::value& w : workers->as_array()) {
        if (!w.is_object())
            return false;
        const auto& wo = w.as_object();
        metrics::WorkerSnapshot ws;
        if (!read_number(wo.if_contains("ready_depth"), ws.ready_depth) ||
            !read_number(wo.if_contains("fibers_alive"), ws.fibers_alive) ||
            !read_number(wo.if_contains("context_switches"), ws.context_switches) ||
            !read_number(wo.if_contains("idle_ns"), ws.idle_ns) ||
            !read_number(wo.if_contains("connections"), ws.connections) ||
            !read_number(wo.if_contains("parked"), ws.parked))
            return false;
        out.workers.push_back(ws);
    }
    return true;
}

std::string updates_json(std::span<const metrics::DeviceUpdate> updates)
{
    // Written directly, as GET /v1/devices/{device}/samples is, so that values read as people write them.
    std::string out;
    out.reserve(2 + updates.size() * 64);
    out += '[';
    for (const auto& u : updates) {
        if (out.size() > 1)
            out += ',';
        out += "{\"device\":";
        out += json::serialize(json::string_view(u.device));
        out += ",\"ts\":";
        out += std::to_string(u.ts_ms);
        out += ",\"metrics\":{";
        bool first = true;
        for (const auto& m : u.metrics) {
            if (!first)
                out += ',';
            first = false;
            out += json::serialize(json::string_view(m.name));
            out += ':';
            telemetry::append_number(out, m.value);
        }
        out += "}}";
    }
    out += ']';
    return out;
}

std::string alert_event_json(const alerts::AlertEvent& e)
{
    json::object o;
    o["kind"] = alerts::to_string(e.kind);
    o["alert"] = alerts::to_json(e.alert);
    return json::serialize(o);
}

std::optional<alerts::Alert> alert_from_json(const json::value& v)
{
    if (!v.is_object())
        return std::nullopt;
    const auto& o = v.as_object();
    alerts::Alert a;
    bool ok = read_number(o.if_contains("id"), a.id) && read_number(o.if_contains("raised_at"), a.raised_at);
    const auto text = [&](const char* name, std::string& out) {
        const json::value* f = o.if_contains(name);
        if (!f || !f->is_string())
            return false;
        out = std::string(f->as_string());
        return true;
    };
    std::string severity;
    ok = ok && text("rule", a.rule) && text("subject", a.subject) && text("message", a.message) &&
         text("severity", severity);
    const auto sev = alerts::severity_from(severity);
    const json::value* active = o.if_contains("active");
    if (!ok || !sev || !active || !active->is_bool())
        return std::nullopt;
    a.severity = *sev;
    a.active = active->as_bool();
    a.cleared_at = optional_time(o.if_contains("cleared_at"), ok);
    a.acked_at = optional_time(o.if_contains("acked_at"), ok);
    if (!ok)
        return std::nullopt;
    return a;
}

std::optional<alerts::AlertEvent> alert_event_from_json(const json::value& v)
{
    if (!v.is_object())
        return std::nullopt;
    const json::value* kind = v.as_object().if_contains("kind");
    const json::value* alert = v.as_object().if_contains("alert");
    if (!kind || !kind->is_string() || !alert)
        return std::nullopt;
    alerts::AlertEvent e;
    const std::string_view k = kind->as_string();
    if (k == "raised")
        e.kind = alerts::AlertEvent::Kind::raised;
    else if (k == "cleared")
        e.kind = alerts::AlertEvent::Kind::cleared;
    else if (k == "acked")
        e.kind = alerts::AlertEvent::Kind::acked;
    else
        return std::nullopt;
    auto a = alert_from_json(*alert);
    if (!a)
        return std::nullopt;
    e.alert = std::move(*a);
    return e;
}

} // namespace fleetscope::http
