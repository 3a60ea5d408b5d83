// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/feed/live_feed.hpp"

#include <QDateTime>

#include <algorithm>

namespace fleetscope::ui {

LiveFeed::LiveFeed(QObject* parent)
    : QObject(parent)
{
    timer_.setTimerType(Qt::PreciseTimer);
    connect(&timer_, &QTimer::timeout, this, &LiveFeed::tick);
}

void LiveFeed::setSubscription(std::shared_ptr<metrics::Subscription> subscription)
{
    subscription_ = std::move(subscription);
}

void LiveFeed::start(int intervalMs)
{
    timer_.start(intervalMs);
}

void LiveFeed::stop()
{
    timer_.stop();
}

std::uint64_t LiveFeed::droppedTotal() const
{
    return dropped_by_ui_ + (subscription_ ? subscription_->dropped() : 0);
}

const Frame& LiveFeed::collect(std::int64_t now_ms)
{
    frame_.now_ms = now_ms;
    frame_.snapshots.clear();
    frame_.points.clear();
    frame_.devices.clear();
    frame_.watched.clear();
    frame_.updates = 0;
    frame_.dropped = 0;
    index_.clear();
    staging_.clear();
    if (!subscription_)
        return frame_;

    metrics::Snapshot snapshot;
    while (subscription_->pop_snapshot(snapshot))
        frame_.snapshots.push_back(std::move(snapshot));

    // Moving out of the queue is cheap (strings and vectors change hands); the work per update comes after,
    // so the oldest surplus is dropped before any of it is spent.
    subscription_->drain_updates([this](telemetry::Sample& s) { staging_.push_back(std::move(s)); });
    frame_.updates = staging_.size();
    std::size_t first = 0;
    if (staging_.size() > max_updates_per_frame_) {
        first = staging_.size() - max_updates_per_frame_;
        frame_.dropped = first;
        dropped_by_ui_ += first;
    }

    // The index's keys view the deltas' own strings, which stay put: the vector never grows past this
    // reservation. One device rarely posts twice in a frame, so its first sample hands its metrics over.
    frame_.devices.reserve(staging_.size() - first);
    for (std::size_t i = first; i < staging_.size(); ++i) {
        telemetry::Sample& s = staging_[i];
        const bool watched = !watched_.empty() && s.device == watched_;
        if (const auto it = index_.find(s.device); it == index_.end()) {
            DeviceDelta& d = frame_.devices.emplace_back();
            d.device = watched ? s.device : std::move(s.device);
            d.samples = 1;
            d.last_ts_ms = s.ts_ms;
            d.source = s.source;
            d.latest = watched ? s.metrics : std::move(s.metrics);
            index_.emplace(d.device, frame_.devices.size() - 1);
        } else {
            DeviceDelta& d = frame_.devices[it->second];
            d.samples += 1;
            d.last_ts_ms = std::max(d.last_ts_ms, s.ts_ms);
            d.source = s.source;
            for (const telemetry::Metric& m : s.metrics) {
                auto slot = std::find_if(d.latest.begin(), d.latest.end(),
                                         [&](const telemetry::Metric& x) { return x.name == m.name; });
                if (slot == d.latest.end())
                    d.latest.push_back(m);
                else
                    slot->value = m.value;
            }
        }
        if (watched)
            frame_.watched.push_back(std::move(s));
    }
    return frame_;
}

void LiveFeed::tick()
{
    QElapsedTimer clock;
    clock.start();
    const Frame& frame = collect(QDateTime::currentMSecsSinceEpoch());
    emit frameReady(frame);
    last_frame_ms_ = static_cast<double>(clock.nsecsElapsed()) / 1e6;
}

} // namespace fleetscope::ui
