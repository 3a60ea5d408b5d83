// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// GET /v1/stream: the gateway's metric snapshots, committed samples and alert events as Server-Sent Events
// (docs/architecture.md, "The remote feed").

#include "core/alerts/alerts.hpp"
#include "core/metrics/hub.hpp"
#include "core/net/handler.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace fleetscope::http {

/// One stream subscriber's body. It reads from its own metrics::Subscription and alerts::EventFeed, the same
/// lock-free queues the embedded monitor drains, so a reader that stalls only fills its own queues: the
/// sampler and the store's writer drop into them and never wait. Every `interval` it writes what arrived as
/// one piece: the newest snapshot (older ones still queued are coalesced into it), the committed samples, the
/// alert events, and a `lag` event whenever something was dropped or coalesced since the last one.
/// Runs on its connection's fiber; cancel() comes on the same worker thread. Holds one of the Api's stream
/// slots (`slots`) until it is destroyed.
class EventStream final : public net::BodyStream {
public:
    struct Options {
        std::string hello; // the data of the first event: who is streaming
        std::chrono::milliseconds interval{100};
    };

    EventStream(Options options, std::shared_ptr<metrics::Subscription> subscription,
                std::shared_ptr<alerts::EventFeed> alert_feed, std::atomic<std::size_t>& slots);
    ~EventStream() override;
    EventStream(const EventStream&) = delete;
    EventStream& operator=(const EventStream&) = delete;

    void run(net::StreamWriter& out) override;
    void cancel() noexcept override { cancelled_ = true; }

private:
    /// Appends what arrived since the last call to `out`, as SSE events.
    void collect(std::string& out);

    Options options_;
    std::shared_ptr<metrics::Subscription> subscription_;
    std::shared_ptr<alerts::EventFeed> alert_feed_;
    std::atomic<std::size_t>& slots_;
    bool cancelled_ = false; // worker thread only
    std::uint64_t coalesced_ = 0;
    std::uint64_t reported_dropped_ = 0;
    std::uint64_t reported_coalesced_ = 0;
    std::uint64_t reported_alerts_dropped_ = 0;
};

/// One Server-Sent Event: `event: <name>` and one `data:` line. `data` holds no line break (serialised JSON).
void append_event(std::string& out, std::string_view name, std::string_view data);

} // namespace fleetscope::http
