// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "core/metrics/snapshot.hpp"

#include <boost/lockfree/spsc_queue.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

namespace fleetscope::metrics {

/// One subscriber's view of the gateway: two bounded single-producer/single-consumer queues.
/// Producers: the sampler thread pushes snapshots, the store's writer thread pushes device updates.
/// Consumer: the subscriber's own thread (the GUI thread), which drains both on a timer.
/// When a queue is full the producer drops the update and counts it; it never waits.
/// `capacity` bounds the device-update queue; the snapshot queue holds min(capacity, kMaxSnapshots), because
/// a snapshot is about 1.3 KB (most of it the two latency histograms) and arrives only every sample interval.
class Subscription {
public:
    static constexpr std::size_t kMaxSnapshots = 1024; // ~100 s at the default 100 ms interval, ~1.3 MB

    explicit Subscription(std::size_t capacity);

    // Consumer side
    bool pop_snapshot(Snapshot& out);
    template <class F>
    std::size_t drain_updates(F&& f)
    {
        return updates_.consume_all(std::forward<F>(f));
    }
    /// Snapshots and device updates dropped because this subscriber lagged, since it subscribed.
    std::uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

    // Producer side. push_snapshot stamps the copy it queues with dropped_updates = dropped().
    void push_snapshot(const Snapshot& s);
    void push_update(const DeviceUpdate& u);

private:
    boost::lockfree::spsc_queue<Snapshot> snapshots_;
    boost::lockfree::spsc_queue<DeviceUpdate> updates_;
    std::atomic<std::uint64_t> dropped_{0};
};

/// Fans snapshots and committed samples out to subscribers. The subscriber list is guarded by a mutex that
/// the producers take once per snapshot or per committed batch, never per request. Thread ownership: any
/// thread may subscribe; the sampler and the writer thread publish; the mutex guards the list, and expired
/// subscribers are pruned while publishing.
class Hub {
public:
    std::shared_ptr<Subscription> subscribe(std::size_t capacity);
    void publish_snapshot(const Snapshot& s);                       // sampler thread only
    void publish_updates(std::span<const telemetry::Sample> batch); // writer thread only
    std::size_t subscribers() const;

private:
    mutable std::mutex mutex_;
    std::vector<std::weak_ptr<Subscription>> subscribers_;
};

} // namespace fleetscope::metrics
