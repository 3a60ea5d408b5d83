// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "core/metrics/hub.hpp"
#include "core/metrics/snapshot.hpp"
#include "core/telemetry/sample.hpp"
#include "ui/feed/snapshot_deriver.hpp"

#include <QElapsedTimer>
#include <QObject>
#include <QTimer>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace fleetscope::ui {

/// Everything one device sent during one frame, folded into one row update.
struct DeviceDelta {
    std::string device;
    std::int64_t last_ts_ms = 0;
    std::int64_t arrived_ms = 0; // when the last sample arrived; 0: with the frame (live). A replay sets it.
    std::uint32_t samples = 0;
    std::vector<telemetry::Metric> latest;              // the last value of each metric seen in the frame
    telemetry::Source source = telemetry::Source::http; // how its last sample came
};

/// The result of draining the subscription once: what the views apply in one go.
struct Frame {
    std::int64_t now_ms = 0;
    std::vector<metrics::Snapshot> snapshots; // in publication order
    std::vector<OverviewPoint> points;      // already derived (a replayed capture's timeline), in time order
    std::vector<DeviceDelta> devices;       // one per device that sent anything
    std::vector<telemetry::Sample> watched; // every sample of the watched device, in commit order
    std::size_t updates = 0;                // device updates drained
    std::size_t dropped = 0;                // of which dropped unseen because the UI lagged
};

/// The consumer side of a metrics::Subscription. GUI thread only: it is the single consumer of the
/// subscription's SPSC queues, drained by its own QTimer (~30 Hz), so nothing on the GUI thread ever waits on
/// the core. Each frame coalesces per device; when more updates are waiting than one frame may apply, the
/// oldest are dropped and counted (the store keeps the truth).
class LiveFeed : public QObject {
    Q_OBJECT
public:
    explicit LiveFeed(QObject* parent = nullptr);

    void setSubscription(std::shared_ptr<metrics::Subscription> subscription);
    bool hasSubscription() const { return subscription_ != nullptr; }
    /// Every sample of this device is kept in Frame::watched (for the device detail plots); empty: none.
    void setWatchedDevice(const std::string& device) { watched_ = device; }
    void setMaxUpdatesPerFrame(std::size_t n) { max_updates_per_frame_ = n; }

    void start(int intervalMs = kDefaultIntervalMs);
    void stop();

    /// Drains both queues and coalesces; the returned frame is valid until the next call. Public so that the
    /// benchmark can time exactly what the timer does.
    const Frame& collect(std::int64_t now_ms);

    /// Drops counted by the core (queue full) plus those dropped here because the UI lagged.
    std::uint64_t droppedTotal() const;
    std::uint64_t droppedByUi() const { return dropped_by_ui_; }

    /// Duration of the last frame, from drain to the last view update and replot (ms).
    double lastFrameMs() const { return last_frame_ms_; }

    static constexpr int kDefaultIntervalMs = 33;
    static constexpr std::size_t kDefaultMaxUpdatesPerFrame = 100'000;

public slots:
    /// One frame: collect, then frameReady so the views apply it; times the whole.
    void tick();

signals:
    void frameReady(const fleetscope::ui::Frame& frame);

private:
    QTimer timer_;
    std::shared_ptr<metrics::Subscription> subscription_;
    std::string watched_;
    std::size_t max_updates_per_frame_ = kDefaultMaxUpdatesPerFrame;
    Frame frame_;
    std::vector<telemetry::Sample> staging_;
    std::unordered_map<std::string_view, std::size_t> index_; // device -> frame_.devices, this frame
    std::uint64_t dropped_by_ui_ = 0;
    double last_frame_ms_ = 0;
};

} // namespace fleetscope::ui
