// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/store/timeline.hpp"

#include <algorithm>
#include <string>

namespace fleetscope::store {

namespace {

double rate(std::uint64_t now, std::uint64_t before, double seconds)
{
    // Totals are monotonic; a smaller value means the counters began again, and a rate across that means
    // nothing.
    return now >= before ? static_cast<double>(now - before) / seconds : 0.0;
}

} // namespace

std::vector<TimelineRow> TimelineDeriver::push(const metrics::Snapshot& s)
{
    std::vector<TimelineRow> out;
    if (interval_.count() <= 0)
        return out;
    if (base_ && (s.uptime_ms < base_->uptime_ms || s.workers.size() != base_->workers.size()))
        base_.reset();
    if (!base_) {
        base_ = s;
        worst_ack_p99_ = 0;
        worst_commit_p99_ = 0;
        return out;
    }
    worst_ack_p99_ = std::max(worst_ack_p99_, s.ack_p99_ms);
    worst_commit_p99_ = std::max(worst_commit_p99_, s.commit_p99_ms);
    const std::int64_t elapsed_ms = s.at_ms - base_->at_ms;
    if (elapsed_ms < interval_.count())
        return out;

    const metrics::Snapshot& b = *base_;
    const double dt = static_cast<double>(elapsed_ms) / 1000.0;
    out.reserve(32 + 2 * s.workers.size());
    auto add = [&](std::string name, double value) {
        out.push_back(TimelineRow{std::move(name), s.at_ms, value});
    };

    add("connections", static_cast<double>(s.connections_open));
    add("accept_rate", rate(s.accepted_total, b.accepted_total, dt));
    double requests = 0;
    for (std::size_t c = 1; c < s.responses_by_class.size(); ++c)
        requests += rate(s.responses_by_class[c], b.responses_by_class[c], dt);
    add("requests_rate", requests);
    add("responses_2xx_rate", rate(s.responses_by_class[2], b.responses_by_class[2], dt));
    add("responses_4xx_rate", rate(s.responses_by_class[4], b.responses_by_class[4], dt));
    add("responses_5xx_rate", rate(s.responses_by_class[5], b.responses_by_class[5], dt));
    add("samples_rate", rate(s.samples_committed, b.samples_committed, dt));
    add("ack_p50_ms", s.ack_p50_ms);
    add("ack_p99_ms", worst_ack_p99_);
    // -1 means "not available on this OS": such series get no points rather than a made-up value.
    if (s.listen_queue >= 0 && s.listen_queue_limit >= 0) {
        add("listen_queue", static_cast<double>(s.listen_queue));
        add("listen_queue_limit", static_cast<double>(s.listen_queue_limit));
        if (s.listen_queue_limit > 0)
            add("backlog_fill",
                static_cast<double>(s.listen_queue) / static_cast<double>(s.listen_queue_limit));
    }
    if (s.listen_overflows >= 0 && b.listen_overflows >= 0)
        add("listen_overflows_rate", rate(static_cast<std::uint64_t>(s.listen_overflows),
                                          static_cast<std::uint64_t>(b.listen_overflows), dt));
    if (s.listen_drops >= 0 && b.listen_drops >= 0)
        add("listen_drops_rate",
            rate(static_cast<std::uint64_t>(s.listen_drops), static_cast<std::uint64_t>(b.listen_drops), dt));

    double fibers = 0;
    double parked = 0;
    std::uint64_t switches_now = 0;
    std::uint64_t switches_before = 0;
    for (std::size_t w = 0; w < s.workers.size(); ++w) {
        const metrics::WorkerSnapshot& now = s.workers[w];
        const metrics::WorkerSnapshot& before = b.workers[w];
        fibers += static_cast<double>(now.fibers_alive);
        parked += static_cast<double>(now.parked);
        switches_now += now.context_switches;
        switches_before += before.context_switches;
    }
    add("fibers_alive", fibers);
    add("parked", parked);
    add("switches_rate", rate(switches_now, switches_before, dt));
    for (std::size_t w = 0; w < s.workers.size(); ++w)
        add("ready_depth." + std::to_string(w), static_cast<double>(s.workers[w].ready_depth));
    for (std::size_t w = 0; w < s.workers.size(); ++w) {
        const auto now = s.workers[w].idle_ns;
        const auto before = b.workers[w].idle_ns;
        const double idle_ns = now >= before ? static_cast<double>(now - before) : 0.0;
        add("idle_pct." + std::to_string(w), std::clamp(idle_ns / (dt * 1e9) * 100.0, 0.0, 100.0));
    }

    add("store_queue", static_cast<double>(s.store_queue));
    add("store_batch", static_cast<double>(s.store_last_batch));
    add("commit_p50_ms", s.commit_p50_ms);
    add("commit_p99_ms", worst_commit_p99_);
    add("rss_bytes", static_cast<double>(s.rss_bytes));
    add("open_fds", static_cast<double>(s.open_fds));
    add("connection_ceiling", static_cast<double>(s.connection_ceiling));

    base_ = s;
    worst_ack_p99_ = 0;
    worst_commit_p99_ = 0;
    return out;
}

} // namespace fleetscope::store
