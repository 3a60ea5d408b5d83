// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/http/event_stream.hpp"

#include "core/http/stream_events.hpp"

#include <boost/fiber/operations.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <vector>

namespace fleetscope::http {

void append_event(std::string& out, std::string_view name, std::string_view data)
{
    out += "event: ";
    out += name;
    out += "\ndata: ";
    out += data;
    out += "\n\n";
}

EventStream::EventStream(Options options, std::shared_ptr<metrics::Subscription> subscription,
                         std::shared_ptr<alerts::EventFeed> alert_feed, std::atomic<std::size_t>& slots)
    : options_(std::move(options))
    , subscription_(std::move(subscription))
    , alert_feed_(std::move(alert_feed))
    , slots_(slots)
{}

EventStream::~EventStream()
{
    slots_.fetch_sub(1, std::memory_order_relaxed);
}

void EventStream::collect(std::string& out)
{
    // Snapshots carry totals, so the newest says everything the older ones did but their per-interval
    // percentiles: a stream that fell behind sends only the newest.
    metrics::Snapshot snapshot;
    bool have = false;
    while (subscription_->pop_snapshot(snapshot)) {
        coalesced_ += have ? 1 : 0;
        have = true;
    }
    std::vector<metrics::DeviceUpdate> updates;
    subscription_->drain_updates([&updates](metrics::DeviceUpdate& u) { updates.push_back(std::move(u)); });
    std::vector<alerts::AlertEvent> events;
    if (alert_feed_)
        alert_feed_->drain([&events](alerts::AlertEvent& e) { events.push_back(std::move(e)); });

    const std::uint64_t dropped = subscription_->dropped();
    const std::uint64_t alerts_dropped = alert_feed_ ? alert_feed_->dropped() : 0;
    if (dropped != reported_dropped_ || coalesced_ != reported_coalesced_ ||
        alerts_dropped != reported_alerts_dropped_) {
        reported_dropped_ = dropped;
        reported_coalesced_ = coalesced_;
        reported_alerts_dropped_ = alerts_dropped;
        append_event(out, "lag",
                     boost::json::serialize(boost::json::object{{"dropped", dropped},
                                                                {"coalesced", coalesced_},
                                                                {"alerts_dropped", alerts_dropped}}));
    }
    if (have)
        append_event(out, "snapshot", snapshot_json(snapshot));
    if (!updates.empty())
        append_event(out, "devices", updates_json(updates));
    for (const auto& e : events)
        append_event(out, "alert", alert_event_json(e));
}

void EventStream::run(net::StreamWriter& out)
{
    std::string piece;
    append_event(piece, "hello", options_.hello);
    if (!out.write(piece))
        return;
    while (!cancelled_ && out.open()) {
        // Parks the fiber, not the worker. A write parks it too, for as long as the peer is slow (within
        // write-timeout); meanwhile the queues fill and the producers drop, which the next `lag` reports.
        boost::this_fiber::sleep_for(options_.interval);
        if (cancelled_)
            return;
        piece.clear();
        collect(piece);
        if (!piece.empty() && !out.write(piece))
            return;
    }
}

} // namespace fleetscope::http
