// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/metrics/registry.hpp"

namespace fleetscope::metrics {

static_assert(sizeof(WorkerMetrics) % 64 == 0, "slots must not share a cache line");

WorkerTotals& WorkerTotals::operator+=(const WorkerTotals& other)
{
    for (std::size_t i = 0; i < responses_by_class.size(); ++i)
        responses_by_class[i] += other.responses_by_class[i];
    samples_accepted += other.samples_accepted;
    samples_committed += other.samples_committed;
    requests += other.requests;
    accepts += other.accepts;
    for (std::size_t i = 0; i < samples_rejected.size(); ++i)
        samples_rejected[i] += other.samples_rejected[i];
    ack_latency += other.ack_latency;
    return *this;
}

WorkerTotals WorkerMetrics::read() const
{
    WorkerTotals t;
    for (std::size_t i = 0; i < responses_by_class.size(); ++i)
        t.responses_by_class[i] = responses_by_class[i].load();
    t.samples_accepted = samples_accepted.load();
    t.samples_committed = samples_committed.load();
    t.requests = requests.load();
    t.accepts = accepts.load();
    for (std::size_t i = 0; i < samples_rejected.size(); ++i)
        t.samples_rejected[i] = samples_rejected[i].load();
    t.ack_latency = ack_latency.counts();
    return t;
}

Registry::Registry(std::size_t n_workers)
    : n_(n_workers)
    , slots_(std::make_unique<WorkerMetrics[]>(n_workers)) // aligned new keeps each slot on its own lines
{}

WorkerTotals Registry::totals() const
{
    WorkerTotals t;
    for (std::size_t i = 0; i < n_; ++i)
        t += slots_[i].read();
    return t;
}

} // namespace fleetscope::metrics
