// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// Alerts: rules over device telemetry and the gateway's own health, evaluated incrementally in core (so the
// headless gateway has them too): metric and stale rules as samples commit (the store's writer thread),
// stale and gateway rules as the metrics sampler ticks. Never by rescanning the database.

#include "core/metrics/derived.hpp"
#include "core/metrics/snapshot.hpp"
#include "core/settings.hpp"
#include "core/telemetry/sample.hpp"
#include "core/util/result.hpp"

#include <boost/json/object.hpp>
#include <boost/lockfree/spsc_queue.hpp>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace fleetscope::store {
class Writer;
}

namespace fleetscope::alerts {

/// How urgent an alert is; the order is the order of urgency.
enum class Severity { info, warning, critical };

/// What a rule watches.
enum class RuleKind {
    metric,  // one metric of the devices matching a glob, as samples commit
    stale,   // devices matching a glob that have sent nothing for `silence`
    gateway, // one of the gateway's health signals, every sample interval
};

/// When a metric rule's value is bad. Edges: `above` is strictly greater than `threshold`, `below` strictly
/// less; `outside` is strictly below `low` or strictly above `high`. The rate conditions compare the change
/// per second between a device's consecutive samples (by sample timestamp) with `threshold`.
enum class Condition { above, below, outside, rate_above, rate_below };

/// The gateway health signals a gateway rule can watch (each compared with `above`: value > threshold).
enum class Signal {
    listen_queue_share, // kernel accept queue / its limit, 0..1 (Linux only; never fires elsewhere)
    listen_drops_rate,  // host-wide ListenDrops per second over the last second of snapshots (Linux only)
    store_queue,        // samples waiting for the writer
    ready_queue,        // the deepest worker's ready queue, fibers
    http_5xx_rate,      // 5xx responses per second, over the last second of snapshots
    http_4xx_rate,      // 4xx responses per second, likewise
    connections_share,  // open connections / the connection ceiling, 0..1
};

/// One alert rule, as the rules file holds it. Which fields matter depends on `kind` (and `condition`);
/// validate() says what is wrong with a combination.
struct Rule {
    std::string name; // unique within a rule set; 1 to 64 characters of [A-Za-z0-9._:-]
    RuleKind kind = RuleKind::metric;
    Severity severity = Severity::warning;

    std::string devices = "*"; // metric, stale: device glob (util::glob_match): `*`, `?`, `[a-z]`, `[!a-z]`
    std::string metric;        // metric: the metric name
    Condition condition = Condition::above;
    Signal signal = Signal::store_queue; // gateway

    double threshold = 0; // above, below, rate_*: the raise threshold; gateway: raise when value > threshold
    double low = 0;       // outside: the band [low, high] that is good
    double high = 0;
    // Hysteresis. Empty: the raise threshold. An alert clears only once the value is back on the good side
    // of the clear threshold (above/rate_above/gateway: value <= clear; below/rate_below: value >= clear;
    // outside: clear_low <= value <= clear_high). So `clear` must not lie on the bad side of the threshold.
    std::optional<double> clear;
    std::optional<double> clear_low;
    std::optional<double> clear_high;

    Millis hold{0};         // metric, gateway: the condition must hold this long (first to latest) to raise
    Millis silence{60'000}; // stale: no sample for at least this long raises

    bool operator==(const Rule&) const = default;
};

/// Whether `rule` is valid; the error says what is wrong and the expected form.
util::Result<void> validate(const Rule& rule);
/// Every rule valid and names unique; the error is the first problem, naming the rule.
util::Result<void> validate(std::span<const Rule> rules);

std::string_view to_string(Severity s);
std::string_view to_string(RuleKind k);
std::string_view to_string(Condition c);
std::string_view to_string(Signal s);
std::optional<Severity> severity_from(std::string_view s);
std::optional<RuleKind> kind_from(std::string_view s);
std::optional<Condition> condition_from(std::string_view s);
std::optional<Signal> signal_from(std::string_view s);
/// The derived series a gateway signal watches (its name in rules files stays the signal's).
metrics::Derived series_of(Signal s);

/// Parses the rules file format: `{"rules":[{...}, ...]}` (see README, Alerts). Validates every rule. The
/// error names the rule and the field.
util::Result<std::vector<Rule>> parse_rules(std::string_view json);
/// The rules file format, pretty enough to edit by hand; parse_rules(rules_json(r)) gives back r.
std::string rules_json(std::span<const Rule> rules);
/// Reads and parses `path`. A missing file is no rules (and no error); the error names the file.
util::Result<std::vector<Rule>> load_rules(const std::string& path);
/// Validates, then writes `path` atomically (a temporary file renamed over it), creating its folder.
util::Result<void> save_rules(const std::string& path, std::span<const Rule> rules);
/// The rules file of `s`: `s.alert_rules`, or `<user data dir>/fleetscope/alerts.json` when that is empty.
std::string rules_path(const Settings& s);

/// One alert: a rule that raised for one subject (a device id, or "gateway"), until it clears.
struct Alert {
    std::int64_t id = 0; // the `alerts` table's row id: (session id << 32) | sequence, unique per database
    std::string rule;
    std::string subject;
    Severity severity = Severity::warning;
    std::int64_t raised_at = 0; // ms since epoch, wall clock
    std::optional<std::int64_t> cleared_at;
    std::optional<std::int64_t> acked_at;
    std::string message; // what was seen when it raised, e.g. "temp_c = 85.5, above 80 for 5000 ms"
    bool active = true;  // not cleared yet
};

/// {"id","rule","subject","severity","raised_at","cleared_at" (or null),"acked_at" (or null),"message",
/// "active"}: one element of GET /v1/alerts.
boost::json::object to_json(const Alert& a);

/// What happened to an alert; `alert` is its state right after.
struct AlertEvent {
    enum class Kind { raised, cleared, acked };
    Kind kind = Kind::raised;
    Alert alert;
};
std::string_view to_string(AlertEvent::Kind k);

/// One line for a log: "<ISO-8601 UTC time> alert <raised|cleared|acked> <severity> rule=<rule>
/// subject=<subject> id=<id>: <message>".
std::string log_line(const AlertEvent& e);

/// A bounded lock-free queue of alert events for one consumer (the GUI thread, the headless main thread).
/// Producer: the engine, which pushes under its own lock from whichever thread made the event (writer,
/// sampler, or an acknowledging caller), so pushes never overlap. When full the event is dropped and counted;
/// the engine's active()/recent() remain the truth.
class EventFeed {
public:
    explicit EventFeed(std::size_t capacity);
    bool pop(AlertEvent& out);
    template <class F>
    std::size_t drain(F&& f)
    {
        return events_.consume_all(std::forward<F>(f));
    }
    std::uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
    void push(const AlertEvent& e); // engine only

private:
    boost::lockfree::spsc_queue<AlertEvent> events_;
    std::atomic<std::uint64_t> dropped_{0};
};

/// Result of Engine::acknowledge.
enum class AckResult { acked, already_acked, not_found };

/// The rules engine. Rules are compiled once (indexed by metric name; device globs matched once per device
/// and cached); per-(rule, device) state lives in flat hash maps. Thread-safe: evaluation runs on the store's
/// writer thread (on_samples) and the sampler thread (on_snapshot) under one evaluation lock; reads,
/// acknowledge and subscribe take a second, short lock on the alert lists, so readers never wait for an
/// evaluation. Callbacks (`Options::on_events`) run under that second lock and must not block.
class Engine {
public:
    struct Options {
        std::int64_t session_id = 0;     // the high half of alert ids
        std::size_t recent_limit = 1000; // cleared alerts kept for recent()
        // Called with the events of each evaluation pass (or one acknowledge), in order, on the thread that
        // made them: e.g. to persist them in one write. Must not block.
        std::function<void(std::span<const AlertEvent>)> on_events;
    };

    Engine();
    explicit Engine(Options options);
    ~Engine();
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;

    /// Replaces the rules (call validate first: invalid rules are refused with the problem). Alerts of rules
    /// that are unchanged (same name and fields) keep their state; those of removed or changed rules clear at
    /// `now_ms`. Any thread.
    util::Result<void> set_rules(std::vector<Rule> rules, std::int64_t now_ms);
    std::vector<Rule> rules() const;

    /// Sets the high half of new alert ids (the store's session). Before the first evaluation.
    void set_session(std::int64_t session_id);

    /// Committed samples (writer thread): metric rules, and stale alerts of these devices clear. `now_ms` is
    /// the wall clock (raise/clear times, when a device was last heard); holds and rates use sample times.
    void on_samples(std::span<const telemetry::Sample> batch, std::int64_t now_ms);

    /// A gateway snapshot (sampler thread): gateway rules, and stale rules at `snap.at_ms`.
    void on_snapshot(const metrics::Snapshot& snap);

    /// Read side, any thread. Active alerts, oldest first; recent cleared ones, newest first, at most
    /// `limit`.
    std::vector<Alert> active() const;
    std::vector<Alert> recent(std::size_t limit = SIZE_MAX) const;
    /// Active alerts per severity, indexed by Severity.
    std::array<std::uint64_t, 3> active_counts() const;

    /// Marks an active or recent alert acknowledged at `now_ms`. Any thread.
    AckResult acknowledge(std::int64_t id, std::int64_t now_ms);

    /// A new feed of every later event; it ends when the returned pointer is released. Any thread.
    std::shared_ptr<EventFeed> subscribe(std::size_t capacity);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// GET /v1/alerts: {"active":[...],"recent":[...]} (see to_json), recent newest first, at most
/// `recent_limit`.
std::string alerts_json(const Engine& engine, std::size_t recent_limit = SIZE_MAX);

/// The `fleetscope_alerts_active{severity="info|warning|critical"}` gauge family in Prometheus text.
std::string prometheus_text(const std::array<std::uint64_t, 3>& active_counts);

/// Records `events` in the store through one Writer::add_alert_changes (a raise adds the alert with its id
/// under the writer's session; clear and ack stamp it). Never blocks; false when the store stops.
bool persist(store::Writer& writer, std::span<const AlertEvent> events);

} // namespace fleetscope::alerts
