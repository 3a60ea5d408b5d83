// SPDX-License-Identifier: GPL-3.0-or-later
// Rules: validation, names of the enumerations, and the rules file (JSON through Boost.JSON).
#include "core/alerts/alerts.hpp"
#include "core/telemetry/codec.hpp"
#include "core/util/glob.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <array>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <utility>

namespace fleetscope::alerts {

namespace json = boost::json;

namespace {

constexpr std::array kSeverities{std::pair{Severity::info, std::string_view{"info"}},
                                 std::pair{Severity::warning, std::string_view{"warning"}},
                                 std::pair{Severity::critical, std::string_view{"critical"}}};
constexpr std::array kKinds{std::pair{RuleKind::metric, std::string_view{"metric"}},
                            std::pair{RuleKind::stale, std::string_view{"stale"}},
                            std::pair{RuleKind::gateway, std::string_view{"gateway"}}};
constexpr std::array kConditions{std::pair{Condition::above, std::string_view{"above"}},
                                 std::pair{Condition::below, std::string_view{"below"}},
                                 std::pair{Condition::outside, std::string_view{"outside"}},
                                 std::pair{Condition::rate_above, std::string_view{"rate_above"}},
                                 std::pair{Condition::rate_below, std::string_view{"rate_below"}}};
constexpr std::array kSignals{std::pair{Signal::listen_queue_share, std::string_view{"listen_queue_share"}},
                              std::pair{Signal::listen_drops_rate, std::string_view{"listen_drops_rate"}},
                              std::pair{Signal::store_queue, std::string_view{"store_queue"}},
                              std::pair{Signal::ready_queue, std::string_view{"ready_queue"}},
                              std::pair{Signal::http_5xx_rate, std::string_view{"http_5xx_rate"}},
                              std::pair{Signal::http_4xx_rate, std::string_view{"http_4xx_rate"}},
                              std::pair{Signal::connections_share, std::string_view{"connections_share"}}};

template <class E, std::size_t N>
std::string_view name_of(const std::array<std::pair<E, std::string_view>, N>& table, E v)
{
    for (auto& [e, n] : table)
        if (e == v)
            return n;
    return "?";
}

template <class E, std::size_t N>
std::optional<E> value_of(const std::array<std::pair<E, std::string_view>, N>& table, std::string_view s)
{
    for (auto& [e, n] : table)
        if (n == s)
            return e;
    return std::nullopt;
}

template <class E, std::size_t N>
std::string names_of(const std::array<std::pair<E, std::string_view>, N>& table)
{
    std::string out;
    for (auto& [e, n] : table) {
        if (!out.empty())
            out += ", ";
        out += n;
    }
    return out;
}

constexpr std::int64_t kMaxDurationMs = 30LL * 24 * 3600 * 1000; // 30 days

std::string fmt(double v)
{
    std::ostringstream o;
    o << v;
    return o.str();
}

/// Integral values are written as integers: Boost.JSON prints 80.0 as 8E1, which is no way to hand-edit.
json::value number(double v)
{
    if (std::trunc(v) == v && std::fabs(v) < 1e15)
        return static_cast<std::int64_t>(v);
    return v;
}

bool is_share(Signal s)
{
    return s == Signal::listen_queue_share || s == Signal::connections_share;
}

/// Reads one rule object; the error names the field and the expected form.
util::Result<void> read_rule(const json::object& o, Rule& r)
{
    static const std::set<std::string_view> kFields{
        "name", "kind", "severity", "devices",   "metric",     "condition", "signal",    "threshold",
        "low",  "high", "clear",    "clear_low", "clear_high", "hold_ms",   "silence_ms"};
    for (auto& kv : o)
        if (!kFields.contains(kv.key()))
            return util::fail(
                "unknown field '" + std::string(kv.key()) +
                "': expected name, kind, severity, devices, metric, condition, signal, threshold, low, "
                "high, "
                "clear, clear_low, clear_high, hold_ms, silence_ms");

    auto text = [&](std::string_view key, std::string& out, bool required) -> util::Result<void> {
        const auto* v = o.if_contains(key);
        if (!v && required)
            return util::fail(std::string(key) + ": required");
        if (!v)
            return {};
        if (!v->is_string())
            return util::fail(std::string(key) + ": expected a string");
        out = std::string(v->get_string());
        return {};
    };
    auto num = [&](std::string_view key, double& out, bool required) -> util::Result<void> {
        const auto* v = o.if_contains(key);
        if (!v && required)
            return util::fail(std::string(key) + ": required (a number)");
        if (!v)
            return {};
        if (!v->is_number())
            return util::fail(std::string(key) + ": expected a number");
        out = v->to_number<double>();
        return {};
    };
    auto opt_num = [&](std::string_view key, std::optional<double>& out) -> util::Result<void> {
        double d = 0;
        if (!o.contains(key))
            return {};
        if (auto e = num(key, d, true); !e)
            return e;
        out = d;
        return {};
    };
    auto millis = [&](std::string_view key, Millis& out) -> util::Result<void> {
        const auto* v = o.if_contains(key);
        if (!v)
            return {};
        if (!v->is_int64() && !v->is_uint64())
            return util::fail(std::string(key) + ": expected an integer number of milliseconds");
        const auto ms = v->is_int64() ? v->get_int64() : static_cast<std::int64_t>(v->get_uint64());
        out = Millis(ms);
        return {};
    };
    std::string s;
    if (auto e = text("name", r.name, true); !e)
        return e;
    if (auto e = text("kind", s, true); !e)
        return e;
    if (auto k = kind_from(s))
        r.kind = *k;
    else
        return util::fail("kind: expected one of " + names_of(kKinds) + ", got '" + s + "'");
    if (o.contains("severity")) {
        if (auto e = text("severity", s, true); !e)
            return e;
        if (auto v = severity_from(s))
            r.severity = *v;
        else
            return util::fail("severity: expected one of " + names_of(kSeverities) + ", got '" + s + "'");
    }
    util::Result<void> err;
    switch (r.kind) {
    case RuleKind::metric:
        if (!(err = text("devices", r.devices, false)) || !(err = text("metric", r.metric, true)))
            return err;
        if (auto e = text("condition", s, true); !e)
            return e;
        if (auto c = condition_from(s))
            r.condition = *c;
        else
            return util::fail("condition: expected one of " + names_of(kConditions) + ", got '" + s + "'");
        if (r.condition == Condition::outside) {
            if (!(err = num("low", r.low, true)) || !(err = num("high", r.high, true)) ||
                !(err = opt_num("clear_low", r.clear_low)) || !(err = opt_num("clear_high", r.clear_high)))
                return err;
        } else {
            if (!(err = num("threshold", r.threshold, true)) || !(err = opt_num("clear", r.clear)))
                return err;
        }
        return millis("hold_ms", r.hold);
    case RuleKind::stale:
        if (!(err = text("devices", r.devices, false)))
            return err;
        return millis("silence_ms", r.silence);
    case RuleKind::gateway:
        if (auto e = text("signal", s, true); !e)
            return e;
        if (auto g = signal_from(s))
            r.signal = *g;
        else
            return util::fail("signal: expected one of " + names_of(kSignals) + ", got '" + s + "'");
        if (!(err = num("threshold", r.threshold, true)) || !(err = opt_num("clear", r.clear)))
            return err;
        return millis("hold_ms", r.hold);
    }
    return {};
}

} // namespace

std::string_view to_string(Severity s)
{
    return name_of(kSeverities, s);
}
std::string_view to_string(RuleKind k)
{
    return name_of(kKinds, k);
}
std::string_view to_string(Condition c)
{
    return name_of(kConditions, c);
}
std::string_view to_string(Signal s)
{
    return name_of(kSignals, s);
}
std::optional<Severity> severity_from(std::string_view s)
{
    return value_of(kSeverities, s);
}
std::optional<RuleKind> kind_from(std::string_view s)
{
    return value_of(kKinds, s);
}
std::optional<Condition> condition_from(std::string_view s)
{
    return value_of(kConditions, s);
}
std::optional<Signal> signal_from(std::string_view s)
{
    return value_of(kSignals, s);
}

metrics::Derived series_of(Signal s)
{
    switch (s) {
    case Signal::listen_queue_share:
        return metrics::Derived::backlog_fill;
    case Signal::listen_drops_rate:
        return metrics::Derived::listen_drops_rate;
    case Signal::store_queue:
        return metrics::Derived::store_queue;
    case Signal::ready_queue:
        return metrics::Derived::ready_depth_max;
    case Signal::http_5xx_rate:
        return metrics::Derived::responses_5xx_rate;
    case Signal::http_4xx_rate:
        return metrics::Derived::responses_4xx_rate;
    case Signal::connections_share:
        return metrics::Derived::connections_share;
    }
    return metrics::Derived::store_queue;
}

util::Result<void> validate(const Rule& r)
{
    if (!telemetry::valid_identifier(r.name, 64))
        return util::fail("name: expected 1 to 64 characters of [A-Za-z0-9._:-], got '" + r.name + "'");
    const std::string where = "rule '" + r.name + "': ";
    auto finite = [](double v) { return std::isfinite(v); };
    auto duration = [&](std::string_view key, Millis d, std::int64_t min) -> util::Result<void> {
        if (d.count() < min || d.count() > kMaxDurationMs)
            return util::fail(where + std::string(key) + ": expected " + std::to_string(min) + " to " +
                              std::to_string(kMaxDurationMs) + " ms, got " + std::to_string(d.count()));
        return {};
    };
    if (r.kind != RuleKind::gateway && !util::valid_glob(r.devices, telemetry::kMaxDeviceLength))
        return util::fail(
            where +
            "devices: expected a glob of 1 to 128 characters of [A-Za-z0-9._:-*?] and sets such as [a-z] or "
            "[!0-9], got '" +
            r.devices + "'");
    switch (r.kind) {
    case RuleKind::metric:
        if (!telemetry::valid_identifier(r.metric, telemetry::kMaxMetricNameLength))
            return util::fail(where + "metric: expected 1 to 64 characters of [A-Za-z0-9._:-], got '" +
                              r.metric + "'");
        if (r.condition == Condition::outside) {
            if (!finite(r.low) || !finite(r.high) || r.low > r.high)
                return util::fail(where + "low, high: expected finite numbers with low <= high, got [" +
                                  fmt(r.low) + ", " + fmt(r.high) + "]");
            const double cl = r.clear_low.value_or(r.low);
            const double ch = r.clear_high.value_or(r.high);
            if (!finite(cl) || !finite(ch) || cl < r.low || ch > r.high || cl > ch)
                return util::fail(where + "clear_low, clear_high: expected a band inside [low, high] = [" +
                                  fmt(r.low) + ", " + fmt(r.high) + "], got [" + fmt(cl) + ", " + fmt(ch) +
                                  "]");
        } else {
            if (!finite(r.threshold))
                return util::fail(where + "threshold: expected a finite number");
            const double c = r.clear.value_or(r.threshold);
            const bool up = r.condition == Condition::above || r.condition == Condition::rate_above;
            if (!finite(c) || (up && c > r.threshold) || (!up && c < r.threshold))
                return util::fail(where + "clear: expected a finite number " + (up ? "<=" : ">=") +
                                  " threshold " + fmt(r.threshold) +
                                  " (the good side, for hysteresis), got " + fmt(c));
        }
        return duration("hold_ms", r.hold, 0);
    case RuleKind::stale:
        return duration("silence_ms", r.silence, 1);
    case RuleKind::gateway: {
        if (!finite(r.threshold) || r.threshold < 0 || (is_share(r.signal) && r.threshold > 1))
            return util::fail(where + "threshold: expected a finite number " +
                              (is_share(r.signal) ? std::string("from 0 to 1 (a share of the limit)")
                                                  : std::string(">= 0")) +
                              ", got " + fmt(r.threshold));
        const double c = r.clear.value_or(r.threshold);
        if (!finite(c) || c > r.threshold || c < 0)
            return util::fail(where + "clear: expected a number from 0 to threshold " + fmt(r.threshold) +
                              ", got " + fmt(c));
        return duration("hold_ms", r.hold, 0);
    }
    }
    return util::fail(where + "kind: expected metric, stale or gateway");
}

util::Result<void> validate(std::span<const Rule> rules)
{
    std::set<std::string_view> names;
    for (const Rule& r : rules) {
        if (auto valid = validate(r); !valid)
            return valid;
        if (!names.insert(r.name).second)
            return util::fail("rule '" + r.name + "': name used twice; rule names must be unique");
    }
    return {};
}

util::Result<std::vector<Rule>> parse_rules(std::string_view text)
{
    boost::system::error_code ec;
    const json::value doc = json::parse(json::string_view(text.data(), text.size()), ec);
    if (ec)
        return util::fail("not JSON: " + ec.message() + "; expected {\"rules\":[...]}");
    const auto* root = doc.if_object();
    const json::value* list = root ? root->if_contains("rules") : nullptr;
    if (!list || !list->is_array())
        return util::fail("expected an object {\"rules\":[...]}");
    std::vector<Rule> rules;
    std::size_t i = 0;
    for (const json::value& v : list->get_array()) {
        Rule r;
        const auto* o = v.if_object();
        const auto read = o ? read_rule(*o, r) : util::fail("expected an object");
        if (!read)
            return util::fail("rule " + std::to_string(i) + (r.name.empty() ? "" : " ('" + r.name + "')") +
                              ": " + read.error());
        rules.push_back(std::move(r));
        ++i;
    }
    if (auto valid = validate(rules); !valid)
        return util::fail(valid.error());
    return rules;
}

std::string rules_json(std::span<const Rule> rules)
{
    std::string out = "{\n  \"rules\": [";
    bool first = true;
    for (const Rule& r : rules) {
        json::object o;
        o["name"] = r.name;
        o["kind"] = to_string(r.kind);
        o["severity"] = to_string(r.severity);
        switch (r.kind) {
        case RuleKind::metric:
            o["devices"] = r.devices;
            o["metric"] = r.metric;
            o["condition"] = to_string(r.condition);
            if (r.condition == Condition::outside) {
                o["low"] = number(r.low);
                o["high"] = number(r.high);
                if (r.clear_low)
                    o["clear_low"] = number(*r.clear_low);
                if (r.clear_high)
                    o["clear_high"] = number(*r.clear_high);
            } else {
                o["threshold"] = number(r.threshold);
                if (r.clear)
                    o["clear"] = number(*r.clear);
            }
            o["hold_ms"] = r.hold.count();
            break;
        case RuleKind::stale:
            o["devices"] = r.devices;
            o["silence_ms"] = r.silence.count();
            break;
        case RuleKind::gateway:
            o["signal"] = to_string(r.signal);
            o["threshold"] = number(r.threshold);
            if (r.clear)
                o["clear"] = number(*r.clear);
            o["hold_ms"] = r.hold.count();
            break;
        }
        out += first ? "\n    " : ",\n    ";
        out += json::serialize(o);
        first = false;
    }
    out += first ? "]\n}\n" : "\n  ]\n}\n";
    return out;
}

util::Result<std::vector<Rule>> load_rules(const std::string& path)
{
    namespace fs = std::filesystem;
    std::error_code ec;
    if (!fs::exists(path, ec))
        return std::vector<Rule>{};
    std::ifstream f(path, std::ios::binary);
    if (!f)
        return util::fail("cannot read the alert rules file " + path);
    std::ostringstream buf;
    buf << f.rdbuf();
    auto rules = parse_rules(buf.str());
    if (!rules)
        return util::fail("alert rules file " + path + ": " + rules.error());
    return rules;
}

util::Result<void> save_rules(const std::string& path, std::span<const Rule> rules)
{
    namespace fs = std::filesystem;
    if (auto valid = validate(rules); !valid)
        return valid;
    std::error_code ec;
    const fs::path p(path);
    if (p.has_parent_path())
        fs::create_directories(p.parent_path(), ec);
    const std::string tmp = path + ".tmp";
    {
        std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
        if (!f)
            return util::fail("cannot write " + tmp + ": check the folder exists and is writable");
        f << rules_json(rules);
        f.flush();
        if (!f)
            return util::fail("cannot write " + tmp + " (disk full?)");
    }
    fs::rename(tmp, p, ec);
    if (ec)
        return util::fail("cannot replace " + path + ": " + ec.message());
    return {};
}

std::string rules_path(const Settings& s)
{
    if (!s.alert_rules.empty())
        return s.alert_rules;
    return (std::filesystem::path(default_db_path()).parent_path() / "alerts.json").string();
}

} // namespace fleetscope::alerts
