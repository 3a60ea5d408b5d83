// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/feed/snapshot_deriver.hpp"

#include <limits>

namespace fleetscope::ui {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

/// The overview's field for a derived series that is one number; null where the overview shows none.
double* scalarField(OverviewPoint& p, metrics::Derived series)
{
    using D = metrics::Derived;
    switch (series) {
    case D::connections:
        return &p.connections;
    case D::accept_rate:
        return &p.accept_rate;
    case D::requests_rate:
        return &p.requests_rate;
    case D::responses_1xx_rate:
        return &p.responses_rate[1];
    case D::responses_2xx_rate:
        return &p.responses_rate[2];
    case D::responses_3xx_rate:
        return &p.responses_rate[3];
    case D::responses_4xx_rate:
        return &p.responses_rate[4];
    case D::responses_5xx_rate:
        return &p.responses_rate[5];
    case D::samples_rate:
        return &p.samples_rate;
    case D::mqtt_rate:
        return &p.mqtt_rate;
    case D::ack_p50_ms:
        return &p.ack_p50_ms;
    case D::ack_p99_ms:
        return &p.ack_p99_ms;
    case D::listen_queue:
        return &p.listen_queue;
    case D::listen_queue_limit:
        return &p.listen_queue_limit;
    case D::listen_overflows_rate:
        return &p.listen_overflows_rate;
    case D::listen_drops_rate:
        return &p.listen_drops_rate;
    case D::fibers_alive:
        return &p.fibers_alive;
    case D::parked:
        return &p.parked;
    case D::switches_rate:
        return &p.switches_rate;
    case D::store_queue:
        return &p.store_queue;
    case D::store_batch:
        return &p.store_batch;
    case D::commit_p50_ms:
        return &p.commit_p50_ms;
    case D::commit_p99_ms:
        return &p.commit_p99_ms;
    case D::rss_bytes:
        return &p.rss_mb;
    case D::open_fds:
        return &p.open_fds;
    case D::connection_ceiling:
        return &p.connection_ceiling;
    case D::backlog_fill:
    case D::ready_depth:
    case D::idle_pct:
    case D::ready_depth_max:
    case D::connections_share:
        break;
    }
    return nullptr;
}

} // namespace

bool setOverviewValue(OverviewPoint& p, metrics::Derived series, double value, std::size_t worker)
{
    std::vector<double>* perWorker = series == metrics::Derived::ready_depth ? &p.ready_depth
                                     : series == metrics::Derived::idle_pct  ? &p.idle_pct
                                                                             : nullptr;
    if (perWorker) {
        if (perWorker->size() <= worker)
            perWorker->resize(worker + 1, kNaN);
        (*perWorker)[worker] = value;
        return true;
    }
    double* field = scalarField(p, series);
    if (!field)
        return false;
    *field = series == metrics::Derived::rss_bytes ? value / (1024.0 * 1024.0) : value;
    return true;
}

void SnapshotDeriver::reset()
{
    cutter_.reset();
}

std::optional<OverviewPoint> SnapshotDeriver::push(const metrics::Snapshot& s)
{
    std::optional<OverviewPoint> out;
    cutter_.push(s, [&](const metrics::Interval& iv) {
        OverviewPoint& p = out.emplace();
        p.t = static_cast<double>(s.at_ms) / 1000.0;
        p.interval_s = iv.seconds();
        p.uptime_s = static_cast<double>(s.uptime_ms) / 1000.0;
        p.accept_backoffs = static_cast<double>(s.accept_backoffs);
        p.fd_limit = static_cast<double>(s.fd_limit);
        p.dropped_updates = s.dropped_updates;
        p.mqtt_link = s.mqtt_link;
        p.mqtt_invalid = static_cast<double>(s.mqtt_invalid);
        metrics::for_each_derived([&](const metrics::DerivedInfo& series) {
            if (!series.per_worker) {
                setOverviewValue(p, series.id, metrics::derive(series.id, iv).value_or(kNaN));
                return;
            }
            for (std::size_t w = 0; w < s.workers.size(); ++w)
                setOverviewValue(p, series.id, metrics::derive(series.id, iv, w).value_or(kNaN), w);
        });
    });
    return out;
}

} // namespace fleetscope::ui
