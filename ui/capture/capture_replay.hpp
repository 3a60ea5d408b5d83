// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "core/store/capture.hpp"
#include "ui/feed/live_feed.hpp"
#include "ui/feed/snapshot_deriver.hpp"

#include <QElapsedTimer>
#include <QObject>
#include <QTimer>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace fleetscope::ui {

/// A capture read into memory for replay: the timeline as overview points and every reading in time order,
/// with device and metric names interned (24 bytes a reading: a million readings take 24 MB). Immutable once
/// loaded; shared between the loader thread that builds it and the GUI thread that replays it.
struct ReplayData {
    struct Reading {
        std::int64_t ts = 0;
        std::uint32_t device = 0; // index into `devices`
        std::uint32_t metric = 0; // index into `metrics`
        double value = 0;
    };

    store::CaptureInfo info;
    std::vector<store::MarkRow> marks;
    std::vector<std::string> devices;  // by name
    std::vector<std::string> metrics;  // by name
    std::vector<OverviewPoint> points; // in time order
    std::vector<Reading> readings;     // ordered by (ts, device, metric)
    std::int64_t begin_ms = 0;         // the span the replay covers: every reading and timeline point
    std::int64_t end_ms = 0;
};

/// How far the loader got: `done` of `total` devices read. Returns false to abandon the load.
using LoadProgressFn = std::function<bool(std::uint64_t done, std::uint64_t total)>;

struct ReplayLoad {
    std::shared_ptr<const ReplayData> data; // null on error or when abandoned
    QString error;
};

/// Reads a whole capture through a store::CaptureReader (read-only; an older schema is migrated in a
/// temporary copy). Blocks on SQLite: run it on a worker thread, never on the GUI thread. Errors name the
/// file.
ReplayLoad loadReplayData(const QString& path, const LoadProgressFn& progress = {});

/// Turns one instant's timeline rows (series, value) into the overview point the live view would have derived
/// at that moment. Series the capture lacks are NaN, which the overview shows as "not available".
OverviewPoint overviewPointFrom(std::int64_t ts, const std::vector<store::TimelineRow>& rows);

/// Plays a capture back into the live views: every tick it moves its clock (by the wall time elapsed times
/// the speed, or to where the user scrubbed) and emits the Frame a live feed would have produced for that
/// stretch of time, so the same Dashboard applies it. A jump back in time first asks the views to clear
/// (resetRequested) and then rebuilds them from the start of the capture in two frames. GUI thread only.
class CaptureReplay : public QObject {
    Q_OBJECT
public:
    explicit CaptureReplay(QObject* parent = nullptr);

    /// Positions at the end of the capture, paused: the views show the session as it was when it ended.
    void setData(std::shared_ptr<const ReplayData> data);
    const ReplayData* data() const { return data_.get(); }

    std::int64_t position() const { return position_; } // ms since epoch
    std::int64_t beginMs() const { return data_ ? data_->begin_ms : 0; }
    std::int64_t endMs() const { return data_ ? data_->end_ms : 0; }
    double speed() const { return speed_; }
    bool playing() const { return playing_; }

    void setSpeed(double speed); // clamped to [kMinSpeed, kMaxSpeed]
    /// Plays from the current position; from the beginning when it is at the end.
    void setPlaying(bool playing);
    /// Moves the clock; the next frame shows the capture as it was at `ms` (clamped to the span).
    void seek(std::int64_t ms);
    /// Every reading of this device lands in Frame::watched, and the next frame brings its past readings.
    void setWatchedDevice(const std::string& device);

    void start(int intervalMs = LiveFeed::kDefaultIntervalMs);
    void stop();

    /// One tick as if `wallElapsedMs` had passed: moves the clock by that times the speed when playing, then
    /// emits the frame up to the new position (after resetRequested when it went back). tick() calls it with
    /// the real elapsed time; tests call it to step the replay deterministically.
    void step(std::int64_t wallElapsedMs);

    /// Duration of the last step, from moving the clock to the last view update (ms).
    double lastFrameMs() const { return last_frame_ms_; }

    static constexpr double kMinSpeed = 1;
    static constexpr double kMaxSpeed = 100;
    /// The speeds the replay bar offers.
    static constexpr double kSpeeds[] = {1, 2, 5, 10, 50, 100};

public slots:
    void tick();

signals:
    /// The views must drop what they show: the next frame rebuilds them from the start of the capture.
    void resetRequested();
    void frameReady(const fleetscope::ui::Frame& frame);
    void positionChanged(qint64 ms);
    void playingChanged(bool playing);

private:
    void buildFrame();
    void clearFrame();
    void addReading(const ReplayData::Reading& r);
    void addWatched(const ReplayData::Reading& r);
    void endDeltas();

    std::shared_ptr<const ReplayData> data_;
    QTimer timer_;
    QElapsedTimer wall_;
    Frame frame_;
    std::int64_t position_ = 0;
    std::int64_t emitted_ = 0;           // the frames so far cover the capture up to here
    std::size_t next_point_ = 0;         // first timeline point after `emitted_`
    std::size_t next_reading_ = 0;       // first reading after `emitted_`
    std::vector<int> delta_of_;          // per device: its index in frame_.devices, -1 when absent
    std::vector<std::uint32_t> touched_; // devices with a delta in this frame
    std::string watched_name_;
    std::int64_t watched_ = -1; // device index, -1: none
    double speed_ = 1;
    double last_frame_ms_ = 0;
    bool playing_ = false;
    bool rebuild_ = true;
    bool watch_backlog_ = false;
};

} // namespace fleetscope::ui
