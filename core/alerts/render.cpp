// SPDX-License-Identifier: GPL-3.0-or-later
// Alerts rendered for their readers: JSON for GET /v1/alerts, a log line, the Prometheus gauge family.
#include "core/alerts/alerts.hpp"
#include "core/util/iso_time.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace fleetscope::alerts {

namespace json = boost::json;

json::object to_json(const Alert& a)
{
    json::object o;
    o["id"] = a.id;
    o["rule"] = a.rule;
    o["subject"] = a.subject;
    o["severity"] = to_string(a.severity);
    o["raised_at"] = a.raised_at;
    o["cleared_at"] = a.cleared_at ? json::value(*a.cleared_at) : json::value(nullptr);
    o["acked_at"] = a.acked_at ? json::value(*a.acked_at) : json::value(nullptr);
    o["message"] = a.message;
    o["active"] = a.active;
    return o;
}

std::string alerts_json(const Engine& engine, std::size_t recent_limit)
{
    json::object o;
    json::array active, recent;
    for (const Alert& a : engine.active())
        active.push_back(to_json(a));
    for (const Alert& a : engine.recent(recent_limit))
        recent.push_back(to_json(a));
    o["active"] = std::move(active);
    o["recent"] = std::move(recent);
    return json::serialize(o);
}

std::string_view to_string(AlertEvent::Kind k)
{
    switch (k) {
    case AlertEvent::Kind::raised:
        return "raised";
    case AlertEvent::Kind::cleared:
        return "cleared";
    case AlertEvent::Kind::acked:
        return "acked";
    }
    return "?";
}

std::string log_line(const AlertEvent& e)
{
    const Alert& a = e.alert;
    const std::int64_t at = e.kind == AlertEvent::Kind::raised    ? a.raised_at
                            : e.kind == AlertEvent::Kind::cleared ? a.cleared_at.value_or(a.raised_at)
                                                                  : a.acked_at.value_or(a.raised_at);
    std::string line = util::format_iso_time(at);
    line += " alert ";
    line += to_string(e.kind);
    line += ' ';
    line += to_string(a.severity);
    line += " rule=" + a.rule + " subject=" + a.subject + " id=" + std::to_string(a.id) + ": " + a.message;
    return line;
}

std::string prometheus_text(const std::array<std::uint64_t, 3>& counts)
{
    std::string out = "# HELP fleetscope_alerts_active Alerts raised and not yet cleared, by severity.\n"
                      "# TYPE fleetscope_alerts_active gauge\n";
    for (Severity s : {Severity::info, Severity::warning, Severity::critical}) {
        out += "fleetscope_alerts_active{severity=\"";
        out += to_string(s);
        out += "\"} ";
        out += std::to_string(counts[static_cast<std::size_t>(s)]);
        out += '\n';
    }
    return out;
}

} // namespace fleetscope::alerts
