// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/feed/snapshot_deriver.hpp"

#include <algorithm>
#include <limits>

namespace fleetscope::ui {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double rate(std::uint64_t now, std::uint64_t before, double seconds)
{
    // Totals are monotonic; a smaller value means the gateway restarted, and a rate across it means nothing.
    return now >= before ? static_cast<double>(now - before) / seconds : 0.0;
}

double optionalRate(std::int64_t now, std::int64_t before, double seconds)
{
    if (now < 0 || before < 0)
        return kNaN;
    return now >= before ? static_cast<double>(now - before) / seconds : 0.0;
}

double gauge(std::int64_t v)
{
    return v < 0 ? kNaN : static_cast<double>(v);
}

} // namespace

void SnapshotDeriver::reset()
{
    base_.reset();
    worst_ack_p99_ = 0;
    worst_commit_p99_ = 0;
}

std::optional<OverviewPoint> SnapshotDeriver::push(const metrics::Snapshot& s)
{
    if (base_ && (s.uptime_ms < base_->uptime_ms || s.workers.size() != base_->workers.size()))
        reset();
    if (!base_) {
        base_ = s;
        return std::nullopt;
    }
    worst_ack_p99_ = std::max(worst_ack_p99_, s.ack_p99_ms);
    worst_commit_p99_ = std::max(worst_commit_p99_, s.commit_p99_ms);
    const std::int64_t elapsed_ms = s.at_ms - base_->at_ms;
    if (elapsed_ms < period_ms_)
        return std::nullopt;

    const metrics::Snapshot& b = *base_;
    const double dt = static_cast<double>(elapsed_ms) / 1000.0;
    OverviewPoint p;
    p.t = static_cast<double>(s.at_ms) / 1000.0;
    p.interval_s = dt;
    p.uptime_s = static_cast<double>(s.uptime_ms) / 1000.0;
    p.connections = static_cast<double>(s.connections_open);
    p.accept_rate = rate(s.accepted_total, b.accepted_total, dt);
    p.accept_backoffs = static_cast<double>(s.accept_backoffs);
    p.connection_ceiling = static_cast<double>(s.connection_ceiling);
    for (std::size_t c = 1; c < p.responses_rate.size(); ++c) {
        p.responses_rate[c] = rate(s.responses_by_class[c], b.responses_by_class[c], dt);
        p.requests_rate += p.responses_rate[c];
    }
    p.samples_rate = rate(s.samples_committed, b.samples_committed, dt);
    p.mqtt_link = s.mqtt_link;
    p.mqtt_rate = rate(s.mqtt_committed, b.mqtt_committed, dt);
    p.mqtt_invalid = static_cast<double>(s.mqtt_invalid);
    p.ack_p50_ms = s.ack_p50_ms;
    p.ack_p99_ms = worst_ack_p99_;

    p.listen_queue = gauge(s.listen_queue);
    p.listen_queue_limit = gauge(s.listen_queue_limit);
    p.listen_overflows_rate = optionalRate(s.listen_overflows, b.listen_overflows, dt);
    p.listen_drops_rate = optionalRate(s.listen_drops, b.listen_drops, dt);

    std::uint64_t switches_now = 0;
    std::uint64_t switches_before = 0;
    p.ready_depth.reserve(s.workers.size());
    p.idle_pct.reserve(s.workers.size());
    for (std::size_t w = 0; w < s.workers.size(); ++w) {
        const metrics::WorkerSnapshot& now = s.workers[w];
        const metrics::WorkerSnapshot& before = b.workers[w];
        p.ready_depth.push_back(now.ready_depth);
        const double idle_ns =
            now.idle_ns >= before.idle_ns ? static_cast<double>(now.idle_ns - before.idle_ns) : 0;
        p.idle_pct.push_back(std::clamp(idle_ns / (dt * 1e9) * 100.0, 0.0, 100.0));
        p.fibers_alive += static_cast<double>(now.fibers_alive);
        p.parked += static_cast<double>(now.parked);
        switches_now += now.context_switches;
        switches_before += before.context_switches;
    }
    p.switches_rate = rate(switches_now, switches_before, dt);

    p.store_queue = static_cast<double>(s.store_queue);
    p.store_batch = static_cast<double>(s.store_last_batch);
    p.commit_p50_ms = s.commit_p50_ms;
    p.commit_p99_ms = worst_commit_p99_;

    p.rss_mb = static_cast<double>(s.rss_bytes) / (1024.0 * 1024.0);
    p.open_fds = static_cast<double>(s.open_fds);
    p.fd_limit = static_cast<double>(s.fd_limit);
    p.dropped_updates = s.dropped_updates;

    base_ = s;
    worst_ack_p99_ = 0;
    worst_commit_p99_ = 0;
    return p;
}

} // namespace fleetscope::ui
