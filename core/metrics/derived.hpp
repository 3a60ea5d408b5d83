// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// The series derived from the gateway's snapshots, named and computed once: the persisted timeline
// (store::TimelineDeriver), the live overview (ui::SnapshotDeriver), a capture's replay and the alert signals
// all read them from this table, in the way for_each_setting drives the CLI, the dialog and the docs.

#include "core/metrics/snapshot.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace fleetscope::metrics {

/// One derived series. The order is the table's, kDerivedSeries.
enum class Derived : std::uint8_t {
    connections,
    accept_rate,
    requests_rate,
    responses_2xx_rate,
    responses_4xx_rate,
    responses_5xx_rate,
    samples_rate,
    mqtt_rate,
    ack_p50_ms,
    ack_p99_ms,
    listen_queue,
    listen_queue_limit,
    backlog_fill,
    listen_overflows_rate,
    listen_drops_rate,
    fibers_alive,
    parked,
    switches_rate,
    ready_depth,
    idle_pct,
    store_queue,
    store_batch,
    commit_p50_ms,
    commit_p99_ms,
    rss_bytes,
    open_fds,
    connection_ceiling,
    // Live only: the overview and the alert signals use them, the timeline does not keep them.
    responses_1xx_rate,
    responses_3xx_rate,
    ready_depth_max,
    connections_share,
};

/// A derived series: its name (stored in the timeline as is, or `<name>.<worker>` per worker), unit and
/// meaning.
struct DerivedInfo {
    Derived id;
    std::string_view name;
    std::string_view unit; // "count", "1/s", "ms", "bytes", "%", "ratio"
    std::string_view help;
    bool per_worker = false;
    bool persisted = true; // in the timeline (Settings::timeline_interval)
};

/// Every derived series, in display order. Rates are over the interval between two snapshots; p99s are the
/// worst seen in it. A series the platform cannot measure (the listen queue off Linux) has no value.
inline constexpr std::array kDerivedSeries{
    DerivedInfo{Derived::connections, "connections", "count", "open device connections"},
    DerivedInfo{Derived::accept_rate, "accept_rate", "1/s", "connections accepted"},
    DerivedInfo{Derived::requests_rate, "requests_rate", "1/s", "responses sent, every status"},
    DerivedInfo{Derived::responses_2xx_rate, "responses_2xx_rate", "1/s", "2xx responses"},
    DerivedInfo{Derived::responses_4xx_rate, "responses_4xx_rate", "1/s", "4xx responses"},
    DerivedInfo{Derived::responses_5xx_rate, "responses_5xx_rate", "1/s", "5xx responses"},
    DerivedInfo{Derived::samples_rate, "samples_rate", "1/s", "telemetry samples committed"},
    DerivedInfo{Derived::mqtt_rate, "mqtt_rate", "1/s", "MQTT messages whose readings committed"},
    DerivedInfo{Derived::ack_p50_ms, "ack_p50_ms", "ms", "POST receive-to-ack latency, median"},
    DerivedInfo{Derived::ack_p99_ms, "ack_p99_ms", "ms", "POST receive-to-ack latency, 99th percentile"},
    DerivedInfo{Derived::listen_queue, "listen_queue", "count",
                "connections waiting in the kernel accept queue"},
    DerivedInfo{Derived::listen_queue_limit, "listen_queue_limit", "count",
                "the accept queue's limit (effective backlog)"},
    DerivedInfo{Derived::backlog_fill, "backlog_fill", "ratio", "listen_queue / listen_queue_limit"},
    DerivedInfo{Derived::listen_overflows_rate, "listen_overflows_rate", "1/s",
                "host-wide listen queue overflows"},
    DerivedInfo{Derived::listen_drops_rate, "listen_drops_rate", "1/s", "host-wide listen drops"},
    DerivedInfo{Derived::fibers_alive, "fibers_alive", "count",
                "fibers started and not finished, all workers"},
    DerivedInfo{Derived::parked, "parked", "count", "idle connections held without a fiber"},
    DerivedInfo{Derived::switches_rate, "switches_rate", "1/s", "fiber context switches, all workers"},
    DerivedInfo{Derived::ready_depth, "ready_depth", "count", "fibers ready to run on a worker", true},
    DerivedInfo{Derived::idle_pct, "idle_pct", "%", "time a worker spent idle in its reactor", true},
    DerivedInfo{Derived::store_queue, "store_queue", "count", "samples waiting for commit"},
    DerivedInfo{Derived::store_batch, "store_batch", "count", "samples in the last commit"},
    DerivedInfo{Derived::commit_p50_ms, "commit_p50_ms", "ms", "group commit duration, median"},
    DerivedInfo{Derived::commit_p99_ms, "commit_p99_ms", "ms", "group commit duration, 99th percentile"},
    DerivedInfo{Derived::rss_bytes, "rss_bytes", "bytes", "gateway process resident memory"},
    DerivedInfo{Derived::open_fds, "open_fds", "count", "open file descriptors"},
    DerivedInfo{Derived::connection_ceiling, "connection_ceiling", "count", "connections accepted at most"},
    DerivedInfo{Derived::responses_1xx_rate, "responses_1xx_rate", "1/s", "1xx responses", false, false},
    DerivedInfo{Derived::responses_3xx_rate, "responses_3xx_rate", "1/s", "3xx responses", false, false},
    DerivedInfo{Derived::ready_depth_max, "ready_depth_max", "count", "the deepest worker's ready queue",
                false, false},
    DerivedInfo{Derived::connections_share, "connections_share", "ratio", "connections / connection_ceiling",
                false, false},
};

/// The table's row of `d`.
constexpr const DerivedInfo& info(Derived d)
{
    return kDerivedSeries[static_cast<std::size_t>(d)];
}

/// Calls `f(const DerivedInfo&)` for every derived series, in display order.
template <class F>
void for_each_derived(F&& f)
{
    for (const DerivedInfo& s : kDerivedSeries)
        f(s);
}

/// The series named `name` (without a worker suffix); nothing for an unknown name.
std::optional<Derived> derived_from(std::string_view name);

/// What a derived series is computed from: the latest snapshot, an earlier one of the same run (the same
/// workers, totals that only grew unless the gateway restarted) and the worst p99s seen since. The base may
/// be the latest snapshot itself, when only gauges are wanted.
struct Interval {
    const Snapshot& now;
    const Snapshot& base;
    double worst_ack_p99_ms = 0;
    double worst_commit_p99_ms = 0;

    double seconds() const { return static_cast<double>(now.at_ms - base.at_ms) / 1000.0; }
};

/// The value of `d` over `iv`, for worker `worker` when `d` is per worker; nothing when the platform cannot
/// measure it, or for a rate over an empty interval. A total that went down (a restart) gives a rate of 0.
std::optional<double> derive(Derived d, const Interval& iv, std::size_t worker = 0);

/// Cuts a stream of snapshots into intervals of at least `period_ms`, keeping the worst p99s seen in each:
/// what the persisted timeline and the live overview derive their points over. A restart (uptime going back)
/// or a new number of workers begins afresh. Plain value type, used on one thread.
class IntervalCutter {
public:
    explicit IntervalCutter(std::int64_t period_ms)
        : period_ms_(period_ms)
    {}

    /// Feeds one snapshot. Once `period_ms` has passed since the interval began, calls `f(const Interval&)`
    /// and begins the next interval at `s`; returns whether it did.
    template <class F>
    bool push(const Snapshot& s, F&& f)
    {
        if (base_ && (s.uptime_ms < base_->uptime_ms || s.workers.size() != base_->workers.size()))
            reset();
        if (!base_) {
            base_ = s;
            return false;
        }
        worst_ack_p99_ = std::max(worst_ack_p99_, s.ack_p99_ms);
        worst_commit_p99_ = std::max(worst_commit_p99_, s.commit_p99_ms);
        if (s.at_ms - base_->at_ms < period_ms_)
            return false;
        f(Interval{s, *base_, worst_ack_p99_, worst_commit_p99_});
        base_ = s;
        worst_ack_p99_ = 0;
        worst_commit_p99_ = 0;
        return true;
    }

    /// Forgets the interval begun, e.g. after the gateway restarted and its totals began again from zero.
    void reset()
    {
        base_.reset();
        worst_ack_p99_ = 0;
        worst_commit_p99_ = 0;
    }

private:
    std::int64_t period_ms_;
    std::optional<Snapshot> base_;
    double worst_ack_p99_ = 0;
    double worst_commit_p99_ = 0;
};

} // namespace fleetscope::metrics
