// SPDX-License-Identifier: GPL-3.0-or-later
// The rules engine: compiled rules, incremental evaluation, the alert lists and their subscribers. The rules
// themselves are rules.cpp, the event feed feed.cpp, renderings render.cpp, persistence persist.cpp.
#include "core/alerts/alerts.hpp"
#include "core/metrics/derived.hpp"
#include "core/util/glob.hpp"

#include <boost/container/small_vector.hpp>
#include <boost/unordered/unordered_flat_map.hpp>

#include <algorithm>
#include <cinttypes>
#include <climits>
#include <cstdio>
#include <deque>
#include <mutex>
#include <utility>

namespace fleetscope::alerts {

namespace {

constexpr std::int64_t kNone = INT64_MIN;
constexpr std::string_view kGatewaySubject = "gateway";
constexpr std::int64_t kRateWindowMs = 1000;

using util::glob_match;

std::string num(double v)
{
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6g", v);
    return buf;
}

struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
struct StringEq {
    using is_transparent = void;
    bool operator()(std::string_view a, std::string_view b) const noexcept { return a == b; }
};
template <class V>
using StringMap = boost::unordered_flat_map<std::string, V, StringHash, StringEq>;

/// Raise/clear state of one (rule, subject); also the previous sample for rate conditions.
struct State {
    std::int64_t pending_since = kNone; // when the condition became bad (sample or snapshot time)
    std::int64_t alert = 0;             // the raised alert's id, 0 when none
    std::int64_t prev_ts = kNone;       // rate conditions: the previous sample
    double prev_value = 0;
};

enum class Step { none, raise, clear };

/// One evaluation of a (rule, subject): raise once bad has held `hold` ms (first bad to now), clear once
/// good. Validation keeps `good` and `bad` disjoint; between them (the hysteresis band) nothing changes.
Step step(State& st, bool bad, bool good, std::int64_t t, std::int64_t hold)
{
    if (st.alert != 0) {
        if (!good)
            return Step::none;
        st.pending_since = kNone;
        return Step::clear;
    }
    if (!bad) {
        st.pending_since = kNone;
        return Step::none;
    }
    if (st.pending_since == kNone)
        st.pending_since = t;
    if (t - st.pending_since < hold)
        return Step::none;
    st.pending_since = kNone;
    return Step::raise;
}

/// A rule ready to evaluate, with its stale and gateway state (metric state lives with each device). Moving
/// it into a new rule set keeps its alerts.
struct Compiled {
    Rule rule;
    bool any_device = false; // glob "*": skip matching
    double clear_v = 0, clear_lo = 0, clear_hi = 0;
    std::vector<std::uint32_t> stale_devices;                     // stale: devices the glob matches
    boost::unordered_flat_map<std::uint32_t, std::int64_t> stale; // stale: device index -> alert id
    State gateway;                                                // gateway

    explicit Compiled(Rule r)
        : rule(std::move(r))
    {
        any_device = rule.devices == "*";
        clear_v = rule.clear.value_or(rule.threshold);
        clear_lo = rule.clear_low.value_or(rule.low);
        clear_hi = rule.clear_high.value_or(rule.high);
    }

    bool matches(std::string_view device) const { return any_device || glob_match(rule.devices, device); }

    /// bad/good of value `v` for the rule's condition (gateway rules are "above").
    std::pair<bool, bool> judge(double v) const
    {
        if (rule.kind == RuleKind::gateway)
            return {v > rule.threshold, v <= clear_v};
        switch (rule.condition) {
        case Condition::above:
        case Condition::rate_above:
            return {v > rule.threshold, v <= clear_v};
        case Condition::below:
        case Condition::rate_below:
            return {v < rule.threshold, v >= clear_v};
        case Condition::outside:
            return {v < rule.low || v > rule.high, v >= clear_lo && v <= clear_hi};
        }
        return {false, true};
    }

    std::string describe(double v) const
    {
        std::string held = rule.hold.count() > 0 ? ", held " + std::to_string(rule.hold.count()) + " ms" : "";
        if (rule.kind == RuleKind::gateway)
            return std::string(to_string(rule.signal)) + " = " + num(v) + ", above " + num(rule.threshold) +
                   held;
        switch (rule.condition) {
        case Condition::above:
            return rule.metric + " = " + num(v) + ", above " + num(rule.threshold) + held;
        case Condition::below:
            return rule.metric + " = " + num(v) + ", below " + num(rule.threshold) + held;
        case Condition::outside:
            return rule.metric + " = " + num(v) + ", outside [" + num(rule.low) + ", " + num(rule.high) +
                   "]" + held;
        case Condition::rate_above:
            return rule.metric + " changing " + num(v) + "/s, above " + num(rule.threshold) + "/s" + held;
        case Condition::rate_below:
            return rule.metric + " changing " + num(v) + "/s, below " + num(rule.threshold) + "/s" + held;
        }
        return {};
    }
};

/// Metric state sits with the device, so that evaluating one sample touches one small table rather than one
/// table per rule: with 15,000 devices the per-rule tables missed the cache on nearly every lookup.
struct Device {
    std::string name;
    std::uint64_t epoch = 0;                                  // the rule set its `matches` were computed for
    boost::container::small_vector<std::uint64_t, 2> matches; // bit per rule index: the device glob matches
    std::uint32_t stale_raised = 0;                           // active stale alerts of this device
    // Metric rule index -> state, only while pending, raised, or holding a rate condition's previous sample.
    boost::unordered_flat_map<std::uint32_t, State> states;
};

/// What an evaluation decided, applied to the alert lists at the end of the pass under the list lock.
struct Op {
    AlertEvent::Kind kind = AlertEvent::Kind::raised;
    std::int64_t id = 0;
    std::int64_t at = 0;
    Alert raised; // kind == raised
};

} // namespace

struct Engine::Impl {
    explicit Impl(Options o)
        : options(std::move(o))
    {}
    Options options;

    // Evaluation state, under eval_mutex (writer and sampler threads, set_rules callers).
    std::mutex eval_mutex;
    std::vector<Compiled> compiled;
    std::uint64_t epoch = 1;
    std::size_t words = 0; // bitset words per device
    std::vector<std::uint32_t> metric_rules, stale_rules, gateway_rules;
    StringMap<std::vector<std::uint32_t>> by_metric; // metric name -> metric rule indices
    StringMap<std::uint32_t> device_index;
    std::vector<Device> devices;
    std::vector<std::int64_t>
        heard; // by device index: wall clock of its latest sample (dense for stale scans)
    std::vector<Op> ops;
    std::int64_t session = 0;
    std::uint32_t sequence = 0;
    // Recent snapshots, oldest first, spanning about kRateWindowMs: gateway rates are taken over that window,
    // because one sample interval (100 ms) turns a single 4xx into "10 per second".
    std::deque<metrics::Snapshot> window;

    // The alert lists, under list_mutex (any thread; taken after eval_mutex when both are held).
    mutable std::mutex list_mutex;
    boost::unordered_flat_map<std::int64_t, Alert> active;
    std::deque<Alert> recent; // newest first
    std::array<std::uint64_t, 3> counts{};
    std::vector<std::weak_ptr<EventFeed>> feeds;
    std::vector<AlertEvent> events;

    std::int64_t next_id() { return (session << 32) | ++sequence; }

    void raise(const Compiled& c, std::string_view subject, std::int64_t at, std::string message,
               std::int64_t& id_out)
    {
        Op op;
        op.kind = AlertEvent::Kind::raised;
        op.id = id_out = next_id();
        op.at = at;
        op.raised.id = op.id;
        op.raised.rule = c.rule.name;
        op.raised.subject = std::string(subject);
        op.raised.severity = c.rule.severity;
        op.raised.raised_at = at;
        op.raised.message = std::move(message);
        ops.push_back(std::move(op));
    }

    void clear(std::int64_t& id, std::int64_t at)
    {
        Op op;
        op.kind = AlertEvent::Kind::cleared;
        op.id = id;
        op.at = at;
        ops.push_back(std::move(op));
        id = 0;
    }

    Device& device(std::string_view name, std::uint32_t& idx, std::int64_t now)
    {
        auto it = device_index.find(name);
        if (it != device_index.end()) {
            idx = it->second;
            return devices[idx];
        }
        idx = static_cast<std::uint32_t>(devices.size());
        device_index.emplace(std::string(name), idx);
        Device& d = devices.emplace_back();
        d.name = std::string(name);
        heard.push_back(now);
        for (std::uint32_t r : stale_rules)
            if (compiled[r].matches(d.name))
                compiled[r].stale_devices.push_back(idx);
        return d;
    }

    void refresh(Device& d)
    {
        d.matches.assign(words, 0);
        for (std::uint32_t r : metric_rules)
            if (compiled[r].matches(d.name))
                d.matches[r / 64] |= std::uint64_t{1} << (r % 64);
        d.epoch = epoch;
    }

    void eval_metric(Compiled& c, std::uint32_t r, Device& d, std::int64_t ts, double v, std::int64_t now)
    {
        const bool rate =
            c.rule.condition == Condition::rate_above || c.rule.condition == Condition::rate_below;
        if (rate) {
            State& st = d.states[r];
            const std::int64_t prev_ts = st.prev_ts;
            const double prev_v = st.prev_value;
            if (prev_ts != kNone && ts <= prev_ts)
                return; // out of order or repeated: no rate, and keep the newer reference
            st.prev_ts = ts;
            st.prev_value = v;
            if (prev_ts == kNone)
                return;
            v = (v - prev_v) * 1000.0 / static_cast<double>(ts - prev_ts);
        }
        const auto [bad, good] = c.judge(v);
        if (!rate && !bad && d.states.empty())
            return; // the common case: nothing pending or raised for this device
        auto it = d.states.find(r);
        if (it == d.states.end()) {
            if (!bad)
                return;
            it = d.states.emplace(r, State{}).first;
        }
        State& st = it->second;
        switch (step(st, bad, good, ts, c.rule.hold.count())) {
        case Step::raise:
            raise(c, d.name, now, c.describe(v), st.alert);
            break;
        case Step::clear:
            clear(st.alert, now);
            break;
        case Step::none:
            break;
        }
        if (!rate && st.alert == 0 && st.pending_since == kNone)
            d.states.erase(it);
    }

    /// A gateway signal: its derived series over the window (metrics::kDerivedSeries), from the window's
    /// oldest snapshot to `snap`.
    std::optional<double> signal_value(Signal s, const metrics::Snapshot& snap) const
    {
        const metrics::Snapshot& base = window.empty() ? snap : window.front();
        return metrics::derive(series_of(s),
                               metrics::Interval{snap, base, snap.ack_p99_ms, snap.commit_p99_ms});
    }

    /// Applies the pass's ops to the lists and tells on_events and the feeds. Called with eval_mutex held.
    void publish()
    {
        if (ops.empty())
            return;
        std::lock_guard lk(list_mutex);
        for (Op& op : ops) {
            if (op.kind == AlertEvent::Kind::raised) {
                counts[static_cast<std::size_t>(op.raised.severity)]++;
                events.push_back(AlertEvent{AlertEvent::Kind::raised, op.raised});
                active.emplace(op.id, std::move(op.raised));
                continue;
            }
            auto it = active.find(op.id);
            if (it == active.end())
                continue;
            Alert a = std::move(it->second);
            active.erase(it);
            counts[static_cast<std::size_t>(a.severity)]--;
            a.cleared_at = op.at;
            a.active = false;
            events.push_back(AlertEvent{AlertEvent::Kind::cleared, a});
            recent.push_front(std::move(a));
            while (recent.size() > options.recent_limit)
                recent.pop_back();
        }
        ops.clear();
        emit_locked();
    }

    /// Hands `events` to on_events and the feeds; list_mutex held, so pushes never overlap.
    void emit_locked()
    {
        if (events.empty())
            return;
        if (options.on_events)
            options.on_events(events);
        std::erase_if(feeds, [](const std::weak_ptr<EventFeed>& w) { return w.expired(); });
        for (auto& w : feeds)
            if (auto f = w.lock())
                for (const AlertEvent& e : events)
                    f->push(e);
        events.clear();
    }

    /// Clears the stale and gateway alerts of a rule that was removed or changed (metric ones: set_rules).
    void retire(Compiled& c, std::int64_t now)
    {
        for (auto& [idx, id] : c.stale) {
            devices[idx].stale_raised--;
            clear(id, now);
        }
        if (c.gateway.alert != 0)
            clear(c.gateway.alert, now);
    }
};

Engine::Engine(Options options)
    : impl_(std::make_unique<Impl>(std::move(options)))
{
    impl_->session = impl_->options.session_id;
}

Engine::Engine()
    : Engine(Options{})
{}

Engine::~Engine() = default;

void Engine::set_session(std::int64_t session_id)
{
    std::lock_guard lk(impl_->eval_mutex);
    impl_->session = session_id;
}

util::Result<void> Engine::set_rules(std::vector<Rule> rules, std::int64_t now_ms)
{
    if (auto valid = validate(rules); !valid)
        return valid;
    Impl& d = *impl_;
    std::lock_guard lk(d.eval_mutex);
    std::vector<Compiled> next;
    next.reserve(rules.size());
    std::vector<bool> kept(d.compiled.size(), false);
    std::vector<std::int64_t> remap(d.compiled.size(), -1); // old rule index -> new, for kept rules
    for (Rule& r : rules) {
        auto same = std::find_if(d.compiled.begin(), d.compiled.end(),
                                 [&](const Compiled& c) { return c.rule == r; });
        const auto old = static_cast<std::size_t>(same - d.compiled.begin());
        if (same != d.compiled.end() && !kept[old]) {
            kept[old] = true;
            remap[old] = static_cast<std::int64_t>(next.size());
            next.push_back(std::move(*same));
            continue;
        }
        Compiled& c = next.emplace_back(std::move(r));
        if (c.rule.kind == RuleKind::stale)
            for (std::uint32_t i = 0; i < d.devices.size(); ++i)
                if (c.matches(d.devices[i].name))
                    c.stale_devices.push_back(i);
    }
    for (std::size_t i = 0; i < d.compiled.size(); ++i)
        if (!kept[i])
            d.retire(d.compiled[i], now_ms);
    // Metric state follows kept rules to their new index; that of removed or changed rules ends, clearing its
    // alerts.
    for (Device& dev : d.devices) {
        if (dev.states.empty())
            continue;
        boost::unordered_flat_map<std::uint32_t, State> moved;
        for (auto& [r, st] : dev.states) {
            if (remap[r] >= 0)
                moved.emplace(static_cast<std::uint32_t>(remap[r]), st);
            else if (st.alert != 0)
                d.clear(st.alert, now_ms);
        }
        dev.states = std::move(moved);
    }
    d.compiled = std::move(next);

    d.metric_rules.clear();
    d.stale_rules.clear();
    d.gateway_rules.clear();
    d.by_metric.clear();
    for (std::uint32_t i = 0; i < d.compiled.size(); ++i) {
        const Rule& r = d.compiled[i].rule;
        switch (r.kind) {
        case RuleKind::metric:
            d.metric_rules.push_back(i);
            d.by_metric[r.metric].push_back(i);
            break;
        case RuleKind::stale:
            d.stale_rules.push_back(i);
            break;
        case RuleKind::gateway:
            d.gateway_rules.push_back(i);
            break;
        }
    }
    d.words = (d.compiled.size() + 63) / 64;
    ++d.epoch;
    d.publish();
    return {};
}

std::vector<Rule> Engine::rules() const
{
    std::lock_guard lk(impl_->eval_mutex);
    std::vector<Rule> out;
    out.reserve(impl_->compiled.size());
    for (auto& c : impl_->compiled)
        out.push_back(c.rule);
    return out;
}

void Engine::on_samples(std::span<const telemetry::Sample> batch, std::int64_t now_ms)
{
    Impl& d = *impl_;
    std::lock_guard lk(d.eval_mutex);
    for (const telemetry::Sample& s : batch) {
        std::uint32_t idx = 0;
        Device& dev = d.device(s.device, idx, now_ms);
        d.heard[idx] = now_ms;
        if (dev.stale_raised != 0) {
            for (std::uint32_t r : d.stale_rules) {
                auto& c = d.compiled[r];
                if (auto it = c.stale.find(idx); it != c.stale.end()) {
                    d.clear(it->second, now_ms);
                    c.stale.erase(it);
                    dev.stale_raised--;
                }
            }
        }
        if (d.by_metric.empty())
            continue;
        if (dev.epoch != d.epoch)
            d.refresh(dev);
        for (const telemetry::Metric& m : s.metrics) {
            auto it = d.by_metric.find(std::string_view(m.name));
            if (it == d.by_metric.end())
                continue;
            for (std::uint32_t r : it->second)
                if (dev.matches[r / 64] & (std::uint64_t{1} << (r % 64)))
                    d.eval_metric(d.compiled[r], r, dev, s.ts_ms, m.value, now_ms);
        }
    }
    d.publish();
}

void Engine::on_snapshot(const metrics::Snapshot& snap)
{
    Impl& d = *impl_;
    std::lock_guard lk(d.eval_mutex);
    const std::int64_t now = snap.at_ms;
    // The oldest snapshot still within the window (at least one snapshot back) is the rates' reference.
    while (d.window.size() > 1 && now - d.window[1].at_ms >= kRateWindowMs)
        d.window.pop_front();
    for (std::uint32_t r : d.gateway_rules) {
        Compiled& c = d.compiled[r];
        const auto v = d.signal_value(c.rule.signal, snap);
        if (!v)
            continue;
        const auto [bad, good] = c.judge(*v);
        switch (step(c.gateway, bad, good, now, c.rule.hold.count())) {
        case Step::raise:
            d.raise(c, kGatewaySubject, now, c.describe(*v), c.gateway.alert);
            break;
        case Step::clear:
            d.clear(c.gateway.alert, now);
            break;
        case Step::none:
            break;
        }
    }
    if (d.window.empty() || now > d.window.back().at_ms)
        d.window.push_back(snap);

    for (std::uint32_t r : d.stale_rules) {
        Compiled& c = d.compiled[r];
        const std::int64_t silence = c.rule.silence.count();
        for (std::uint32_t idx : c.stale_devices) {
            if (now - d.heard[idx] < silence || c.stale.contains(idx))
                continue;
            Device& dev = d.devices[idx];
            std::int64_t id = 0;
            d.raise(c, dev.name, now,
                    "no sample for " + std::to_string(now - d.heard[idx]) + " ms (silence " +
                        std::to_string(silence) + " ms)",
                    id);
            c.stale.emplace(idx, id);
            dev.stale_raised++;
        }
    }
    d.publish();
}

std::vector<Alert> Engine::active() const
{
    std::vector<Alert> out;
    {
        std::lock_guard lk(impl_->list_mutex);
        out.reserve(impl_->active.size());
        for (auto& [id, a] : impl_->active)
            out.push_back(a);
    }
    std::sort(out.begin(), out.end(), [](const Alert& a, const Alert& b) { return a.id < b.id; });
    return out;
}

std::vector<Alert> Engine::recent(std::size_t limit) const
{
    std::lock_guard lk(impl_->list_mutex);
    const std::size_t n = std::min(limit, impl_->recent.size());
    return {impl_->recent.begin(), impl_->recent.begin() + static_cast<std::ptrdiff_t>(n)};
}

std::array<std::uint64_t, 3> Engine::active_counts() const
{
    std::lock_guard lk(impl_->list_mutex);
    return impl_->counts;
}

AckResult Engine::acknowledge(std::int64_t id, std::int64_t now_ms)
{
    Impl& d = *impl_;
    std::lock_guard lk(d.list_mutex);
    Alert* a = nullptr;
    if (auto it = d.active.find(id); it != d.active.end())
        a = &it->second;
    else if (auto r =
                 std::find_if(d.recent.begin(), d.recent.end(), [id](const Alert& x) { return x.id == id; });
             r != d.recent.end())
        a = &*r;
    if (!a)
        return AckResult::not_found;
    if (a->acked_at)
        return AckResult::already_acked;
    a->acked_at = now_ms;
    d.events.push_back(AlertEvent{AlertEvent::Kind::acked, *a});
    d.emit_locked();
    return AckResult::acked;
}

std::shared_ptr<EventFeed> Engine::subscribe(std::size_t capacity)
{
    auto feed = std::make_shared<EventFeed>(capacity);
    std::lock_guard lk(impl_->list_mutex);
    impl_->feeds.push_back(feed);
    return feed;
}

} // namespace fleetscope::alerts
