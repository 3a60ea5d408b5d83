// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/metrics/derived.hpp"

#include <algorithm>

namespace fleetscope::metrics {

namespace {

constexpr bool rows_in_enum_order()
{
    for (std::size_t i = 0; i < kDerivedSeries.size(); ++i)
        if (static_cast<std::size_t>(kDerivedSeries[i].id) != i)
            return false;
    return true;
}
static_assert(rows_in_enum_order(), "kDerivedSeries lists the series in the order of enum Derived");

std::optional<double> rate(std::uint64_t now, std::uint64_t before, double seconds)
{
    if (seconds <= 0)
        return std::nullopt;
    // Totals are monotonic; a smaller value means the counters began again, and a rate across that means
    // nothing.
    return now >= before ? static_cast<double>(now - before) / seconds : 0.0;
}

/// A host-wide total that is -1 where the platform cannot read it.
std::optional<double> optional_rate(std::int64_t now, std::int64_t before, double seconds)
{
    if (now < 0 || before < 0)
        return std::nullopt;
    return rate(static_cast<std::uint64_t>(now), static_cast<std::uint64_t>(before), seconds);
}

double count(std::uint64_t v)
{
    return static_cast<double>(v);
}

} // namespace

std::optional<Derived> derived_from(std::string_view name)
{
    for (const DerivedInfo& s : kDerivedSeries)
        if (s.name == name)
            return s.id;
    return std::nullopt;
}

std::optional<double> derive(Derived d, const Interval& iv, std::size_t worker)
{
    const Snapshot& s = iv.now;
    const Snapshot& b = iv.base;
    const double dt = iv.seconds();
    const bool listen_known = s.listen_queue >= 0 && s.listen_queue_limit >= 0;
    auto responses = [&](std::size_t c) {
        return rate(s.responses_by_class[c], b.responses_by_class[c], dt);
    };
    auto workers_sum = [&](auto member) {
        std::uint64_t now = 0;
        std::uint64_t before = 0;
        for (const WorkerSnapshot& w : s.workers)
            now += w.*member;
        for (const WorkerSnapshot& w : b.workers)
            before += w.*member;
        return std::pair{now, before};
    };
    switch (d) {
    case Derived::connections:
        return count(s.connections_open);
    case Derived::accept_rate:
        return rate(s.accepted_total, b.accepted_total, dt);
    case Derived::requests_rate: {
        if (dt <= 0)
            return std::nullopt;
        double sum = 0;
        for (std::size_t c = 1; c < s.responses_by_class.size(); ++c)
            sum += *responses(c);
        return sum;
    }
    case Derived::responses_1xx_rate:
        return responses(1);
    case Derived::responses_2xx_rate:
        return responses(2);
    case Derived::responses_3xx_rate:
        return responses(3);
    case Derived::responses_4xx_rate:
        return responses(4);
    case Derived::responses_5xx_rate:
        return responses(5);
    case Derived::samples_rate:
        return rate(s.samples_committed, b.samples_committed, dt);
    case Derived::mqtt_rate:
        return rate(s.mqtt_committed, b.mqtt_committed, dt);
    case Derived::ack_p50_ms:
        return s.ack_p50_ms;
    case Derived::ack_p99_ms:
        return iv.worst_ack_p99_ms;
    case Derived::listen_queue:
        return listen_known ? std::optional(static_cast<double>(s.listen_queue)) : std::nullopt;
    case Derived::listen_queue_limit:
        return listen_known ? std::optional(static_cast<double>(s.listen_queue_limit)) : std::nullopt;
    case Derived::backlog_fill:
        if (!listen_known || s.listen_queue_limit <= 0)
            return std::nullopt;
        return static_cast<double>(s.listen_queue) / static_cast<double>(s.listen_queue_limit);
    case Derived::listen_overflows_rate:
        return optional_rate(s.listen_overflows, b.listen_overflows, dt);
    case Derived::listen_drops_rate:
        return optional_rate(s.listen_drops, b.listen_drops, dt);
    case Derived::fibers_alive:
        return count(workers_sum(&WorkerSnapshot::fibers_alive).first);
    case Derived::parked:
        return count(workers_sum(&WorkerSnapshot::parked).first);
    case Derived::switches_rate: {
        const auto [now, before] = workers_sum(&WorkerSnapshot::context_switches);
        return rate(now, before, dt);
    }
    case Derived::ready_depth:
        if (worker >= s.workers.size())
            return std::nullopt;
        return static_cast<double>(s.workers[worker].ready_depth);
    case Derived::idle_pct: {
        if (worker >= s.workers.size() || worker >= b.workers.size() || dt <= 0)
            return std::nullopt;
        const auto now = s.workers[worker].idle_ns;
        const auto before = b.workers[worker].idle_ns;
        const double idle_ns = now >= before ? static_cast<double>(now - before) : 0.0;
        return std::clamp(idle_ns / (dt * 1e9) * 100.0, 0.0, 100.0);
    }
    case Derived::ready_depth_max: {
        std::uint32_t deepest = 0;
        for (const WorkerSnapshot& w : s.workers)
            deepest = std::max(deepest, w.ready_depth);
        return static_cast<double>(deepest);
    }
    case Derived::store_queue:
        return count(s.store_queue);
    case Derived::store_batch:
        return static_cast<double>(s.store_last_batch);
    case Derived::commit_p50_ms:
        return s.commit_p50_ms;
    case Derived::commit_p99_ms:
        return iv.worst_commit_p99_ms;
    case Derived::rss_bytes:
        return count(s.rss_bytes);
    case Derived::open_fds:
        return count(s.open_fds);
    case Derived::connection_ceiling:
        return count(s.connection_ceiling);
    case Derived::connections_share:
        if (s.connection_ceiling == 0)
            return std::nullopt;
        return static_cast<double>(s.connections_open) / static_cast<double>(s.connection_ceiling);
    }
    return std::nullopt;
}

} // namespace fleetscope::metrics
