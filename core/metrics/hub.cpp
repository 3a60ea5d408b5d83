// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/metrics/hub.hpp"

#include <algorithm>

namespace fleetscope::metrics {

Subscription::Subscription(std::size_t capacity)
    : snapshots_(std::max<std::size_t>(1, std::min(capacity, kMaxSnapshots)))
    , updates_(std::max<std::size_t>(1, capacity))
{}

bool Subscription::pop_snapshot(Snapshot& out)
{
    return snapshots_.pop(out);
}

void Subscription::push_snapshot(const Snapshot& s)
{
    // Check for room first so a lagging subscriber costs no copy.
    if (snapshots_.write_available() == 0) {
        dropped_.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    Snapshot stamped = s;
    stamped.dropped_updates = dropped_.load(std::memory_order_relaxed);
    snapshots_.push(stamped); // only this thread pushes, so the room checked above is still there
}

void Subscription::push_update(const DeviceUpdate& u)
{
    if (!updates_.push(u))
        dropped_.fetch_add(1, std::memory_order_relaxed);
}

std::shared_ptr<Subscription> Hub::subscribe(std::size_t capacity)
{
    auto sub = std::make_shared<Subscription>(capacity);
    const std::lock_guard lock(mutex_);
    subscribers_.push_back(sub);
    return sub;
}

// Both publishers lock once per call and drop the subscribers whose owner let go, so the list never grows
// with subscriptions that ended.
void Hub::publish_snapshot(const Snapshot& s)
{
    const std::lock_guard lock(mutex_);
    std::erase_if(subscribers_, [&](const std::weak_ptr<Subscription>& w) {
        auto sub = w.lock();
        if (!sub)
            return true;
        sub->push_snapshot(s);
        return false;
    });
}

void Hub::publish_updates(std::span<const telemetry::Sample> batch)
{
    const std::lock_guard lock(mutex_);
    std::erase_if(subscribers_, [&](const std::weak_ptr<Subscription>& w) {
        auto sub = w.lock();
        if (!sub)
            return true;
        for (const auto& sample : batch)
            sub->push_update(sample);
        return false;
    });
}

std::size_t Hub::subscribers() const
{
    const std::lock_guard lock(mutex_);
    return static_cast<std::size_t>(
        std::count_if(subscribers_.begin(), subscribers_.end(), [](const auto& w) { return !w.expired(); }));
}

} // namespace fleetscope::metrics
