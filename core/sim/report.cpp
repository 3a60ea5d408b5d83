// SPDX-License-Identifier: GPL-3.0-or-later
// Rendering of a simulator Report: aligned text for people, JSON with stable keys for scripts.
#include "core/sim/report.hpp"

#include <boost/json/array.hpp>

#include <cmath>
#include <cstdio>
#include <sstream>

namespace fleetscope::sim {

std::uint64_t ErrorCounts::total() const
{
    return connect_refused + connect_timeout + connect_other + reset + closed + timeout + other;
}

void ErrorCounts::add(const ErrorCounts& o)
{
    connect_refused += o.connect_refused;
    connect_timeout += o.connect_timeout;
    connect_other += o.connect_other;
    reset += o.reset;
    closed += o.closed;
    timeout += o.timeout;
    other += o.other;
}

int Report::exit_code() const
{
    if (!fatal.empty())
        return 2;
    if (refused > 0 || errors.connect_refused > 0)
        return 1;
    if (options.mode == Mode::hold && (hold_failed > 0 || failed > 0 || errors.total() > 0))
        return 1;
    return 0;
}

std::string grouped(std::uint64_t n)
{
    std::string digits = std::to_string(n);
    std::string out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0)
            out += ',';
        out += digits[i];
    }
    return out;
}

namespace {

std::string fixed(double v, int decimals)
{
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    return buf;
}

// Latency with three significant digits: "0.412", "12.3", "1520".
std::string ms(double v)
{
    if (v < 1)
        return fixed(v, 3);
    if (v < 10)
        return fixed(v, 2);
    if (v < 100)
        return fixed(v, 1);
    return fixed(v, 0);
}

double round_to(double v, int decimals)
{
    const double f = std::pow(10.0, decimals);
    return std::round(v * f) / f;
}

std::string duration_text(Millis d)
{
    if (d.count() % 1000 == 0)
        return std::to_string(d.count() / 1000) + " s";
    return std::to_string(d.count()) + " ms";
}

} // namespace

std::string format_text(const Report& r)
{
    std::ostringstream out;
    const Options& o = r.options;
    if (!r.fatal.empty()) {
        out << "fleetscope-sim: " << r.fatal << "\n";
        return out.str();
    }

    out << "fleetscope-sim: " << to_string(o.mode) << (o.mode == Mode::hold ? "" : " loop") << ", "
        << grouped(o.connections) << " connections to " << r.target_address;
    if (o.mode == Mode::hold)
        out << ", hold " << duration_text(o.hold);
    else if (o.mode == Mode::open)
        out << ", every " << duration_text(o.interval) << " for " << duration_text(o.duration);
    else
        out << ", for " << duration_text(o.duration);
    out << ", " << r.threads << (r.threads == 1 ? " thread" : " threads") << "\n";

    out << "  sources      ";
    if (r.sources.empty()) {
        out << "chosen by the kernel\n";
    } else {
        for (std::size_t i = 0; i < r.sources.size(); ++i)
            out << (i ? ", " : "") << r.sources[i] << " (" << grouped(r.source_connects[i]) << ")";
        out << "\n";
    }

    out << "  fleet        seed " << o.seed << ", ";
    std::uint64_t faulty = 0;
    for (const auto& [fault, n] : r.faults)
        faulty += n;
    out << grouped(faulty) << " of " << grouped(o.connections) << " devices misbehave";
    for (auto it = r.faults.begin(); it != r.faults.end(); ++it)
        out << (it == r.faults.begin() ? ": " : ", ") << grouped(it->second) << " " << to_string(it->first);
    out << "\n";

    out << "  connections  opened " << grouped(r.opened) << ", refused " << grouped(r.refused) << ", failed "
        << grouped(r.failed) << ", reconnects " << grouped(r.reconnects) << "  (ramp "
        << fixed(r.ramp_seconds, 2) << " s";
    if (r.ramp_seconds > 0)
        out << ", "
            << grouped(static_cast<std::uint64_t>(static_cast<double>(r.opened + r.refused + r.failed) /
                                                  r.ramp_seconds))
            << " conn/s";
    out << ")\n";

    if (o.mode == Mode::hold) {
        out << "  hold         " << grouped(r.held) << " held, " << grouped(r.hold_answered)
            << " answered the check, " << grouped(r.hold_failed) << " failed\n";
    }

    out << "  requests     " << grouped(r.responses) << " answered in " << fixed(r.run_seconds, 2)
        << " s: " << grouped(static_cast<std::uint64_t>(r.achieved_rps)) << " req/s, "
        << grouped(static_cast<std::uint64_t>(r.ok_rps)) << " req/s 2xx";
    if (o.mode == Mode::open && r.target_rps > 0)
        out << " (target " << grouped(static_cast<std::uint64_t>(r.target_rps)) << " req/s, "
            << fixed(100.0 * r.achieved_rps / r.target_rps, 1) << " %)";
    out << "\n";
    if (r.unsent > 0)
        out << "               " << grouped(r.unsent)
            << " scheduled posts never sent: the gateway fell too far behind\n";
    if (r.silent > 0)
        out << "               " << grouped(r.silent) << " scheduled posts held back by silent devices\n";

    const LatencySummary& l = r.latency;
    if (l.count == 0)
        out << "  latency ms   no responses\n";
    else
        out << "  latency ms   p50 " << ms(l.p50_ms) << "  p90 " << ms(l.p90_ms) << "  p99 " << ms(l.p99_ms)
            << "  p99.9 " << ms(l.p999_ms) << "  max " << ms(l.max_ms) << "  mean " << ms(l.mean_ms)
            << (o.mode == Mode::open ? "  (from each post's scheduled time)\n" : "\n");

    out << "  status       ";
    if (r.status.empty())
        out << "none";
    for (auto it = r.status.begin(); it != r.status.end(); ++it)
        out << (it == r.status.begin() ? "" : ", ") << it->first << ": " << grouped(it->second);
    out << "\n";

    out << "  client       " << fixed(r.cpu_seconds, 1) << " s CPU in " << fixed(r.wall_seconds, 1) << " s ("
        << fixed(r.wall_seconds > 0 ? 100.0 * r.cpu_seconds / r.wall_seconds : 0, 0) << " % of one core";
    out << ")";
    if (r.responses > 0)
        out << "; " << fixed(1e6 * r.run_cpu_seconds / static_cast<double>(r.responses), 1)
            << " us CPU per response after the ramp";
    out << "\n";

    const ErrorCounts& e = r.errors;
    out << "  errors       ";
    if (e.total() == 0) {
        out << "none\n";
    } else {
        const std::pair<const char*, std::uint64_t> kinds[] = {{"connect refused", e.connect_refused},
                                                               {"connect timeout", e.connect_timeout},
                                                               {"connect other", e.connect_other},
                                                               {"reset", e.reset},
                                                               {"closed by peer", e.closed},
                                                               {"timeout", e.timeout},
                                                               {"other", e.other}};
        bool first = true;
        for (auto [name, n] : kinds) {
            if (n == 0)
                continue;
            out << (first ? "" : ", ") << name << " " << grouped(n);
            first = false;
        }
        out << "\n";
        for (const auto& [msg, n] : r.error_messages)
            out << "               " << grouped(n) << " x " << msg << "\n";
    }
    if (r.refused > 0)
        out << "  verdict      " << grouped(r.refused)
            << " connections refused: the gateway's accept queue overflowed or it was not listening\n";
    else if (o.mode == Mode::hold && r.exit_code() != 0)
        out << "  verdict      held connections were lost: not every device could post again after the "
               "hold\n";
    return out.str();
}

boost::json::object to_json(const Report& r)
{
    namespace json = boost::json;
    const Options& o = r.options;
    json::object j;
    j["ok"] = r.exit_code() == 0;
    j["exit_code"] = r.exit_code();
    if (!r.fatal.empty()) {
        j["fatal"] = r.fatal;
        return j;
    }
    j["mode"] = std::string(to_string(o.mode));
    j["target"] = r.target_address;
    j["threads"] = r.threads;
    j["fd_limit"] = r.fd_limit;

    json::object cfg;
    cfg["connections"] = o.connections;
    cfg["interval_ms"] = o.interval.count();
    cfg["duration_ms"] = o.duration.count();
    cfg["hold_ms"] = o.hold.count();
    cfg["metrics"] = o.metrics;
    cfg["device_prefix"] = o.device_prefix;
    cfg["ramp_rate"] = o.ramp_rate;
    cfg["seed"] = o.seed;
    cfg["faulty"] = o.faulty;
    j["config"] = std::move(cfg);

    json::object faults;
    for (const auto& [fault, n] : r.faults)
        faults[to_string(fault)] = n;
    j["faults"] = std::move(faults);

    json::array sources;
    for (std::size_t i = 0; i < r.sources.size(); ++i)
        sources.push_back(json::object{{"address", r.sources[i]}, {"connects", r.source_connects[i]}});
    j["sources"] = std::move(sources);

    j["connections"] = json::object{{"requested", o.connections}, {"opened", r.opened},
                                    {"refused", r.refused},       {"failed", r.failed},
                                    {"reconnects", r.reconnects}, {"ramp_s", round_to(r.ramp_seconds, 3)}};

    j["requests"] = json::object{{"sent", r.sent},
                                 {"responses", r.responses},
                                 {"ok", r.ok},
                                 {"unsent", r.unsent},
                                 {"silent", r.silent},
                                 {"run_s", round_to(r.run_seconds, 3)},
                                 {"achieved_rps", round_to(r.achieved_rps, 1)},
                                 {"ok_rps", round_to(r.ok_rps, 1)},
                                 {"target_rps", round_to(r.target_rps, 1)}};

    const LatencySummary& l = r.latency;
    j["latency_ms"] = json::object{{"count", l.count},
                                   {"mean", round_to(l.mean_ms, 3)},
                                   {"p50", round_to(l.p50_ms, 3)},
                                   {"p90", round_to(l.p90_ms, 3)},
                                   {"p99", round_to(l.p99_ms, 3)},
                                   {"p99_9", round_to(l.p999_ms, 3)},
                                   {"max", round_to(l.max_ms, 3)}};

    json::object status;
    std::uint64_t classes[6] = {};
    for (auto [code, n] : r.status) {
        status[std::to_string(code)] = n;
        if (code >= 100 && code < 600)
            classes[code / 100] += n;
    }
    j["status"] = std::move(status);
    j["status_class"] =
        json::object{{"2xx", classes[2]}, {"3xx", classes[3]}, {"4xx", classes[4]}, {"5xx", classes[5]}};

    const ErrorCounts& e = r.errors;
    json::object messages;
    for (const auto& [msg, n] : r.error_messages)
        messages[msg] = n;
    j["errors"] = json::object{{"total", e.total()},
                               {"connect_refused", e.connect_refused},
                               {"connect_timeout", e.connect_timeout},
                               {"connect_other", e.connect_other},
                               {"reset", e.reset},
                               {"closed", e.closed},
                               {"timeout", e.timeout},
                               {"other", e.other},
                               {"messages", std::move(messages)}};

    j["client"] = json::object{{"wall_s", round_to(r.wall_seconds, 3)},
                               {"cpu_s", round_to(r.cpu_seconds, 3)},
                               {"run_cpu_s", round_to(r.run_cpu_seconds, 3)}};
    j["hold"] = json::object{{"held", r.held}, {"answered", r.hold_answered}, {"failed", r.hold_failed}};
    return j;
}

} // namespace fleetscope::sim
