// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/capture/capture_replay.hpp"

#include "ui/plots/time_window.hpp"

#include <algorithm>
#include <cmath>
#include <exception>
#include <limits>
#include <string_view>
#include <unordered_map>

namespace fleetscope::ui {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// "ready_depth.3" → 3 when `name` is `base` followed by a worker index; -1 otherwise.
int workerIndex(std::string_view name, std::string_view base)
{
    if (name.size() <= base.size() + 1 || name.substr(0, base.size()) != base || name[base.size()] != '.')
        return -1;
    int worker = 0;
    for (char c : name.substr(base.size() + 1)) {
        if (c < '0' || c > '9' || worker > 100'000)
            return -1;
        worker = worker * 10 + (c - '0');
    }
    return worker;
}

std::int64_t pointMs(const OverviewPoint& p)
{
    return std::llround(p.t * 1000.0);
}

} // namespace

OverviewPoint overviewPointFrom(std::int64_t ts, const std::vector<store::TimelineRow>& rows)
{
    OverviewPoint p;
    p.t = static_cast<double>(ts) / 1000.0;
    // Not in the timeline: the live view shows them, a capture does not keep them.
    p.accept_backoffs = kNaN;
    p.fd_limit = kNaN;
    p.uptime_s = kNaN;
    for (double* gauge :
         {&p.listen_queue, &p.listen_queue_limit, &p.listen_overflows_rate, &p.listen_drops_rate})
        *gauge = kNaN;
    for (const store::TimelineRow& row : rows) {
        // "ready_depth.3": a per-worker series and its worker.
        const std::string_view name = row.series;
        const std::size_t dot = name.find('.');
        const auto series = metrics::derived_from(name.substr(0, dot));
        if (!series || metrics::info(*series).per_worker != (dot != std::string_view::npos))
            continue;
        if (dot == std::string_view::npos) {
            setOverviewValue(p, *series, row.value);
        } else if (const int w = workerIndex(name, name.substr(0, dot)); w >= 0) {
            setOverviewValue(p, *series, row.value, static_cast<std::size_t>(w));
        }
    }
    // The overview plots one line per worker from both lists together.
    const std::size_t workers = std::max(p.ready_depth.size(), p.idle_pct.size());
    p.ready_depth.resize(workers, kNaN);
    p.idle_pct.resize(workers, kNaN);
    return p;
}

ReplayLoad loadReplayData(const QString& path, const LoadProgressFn& progress)
{
    ReplayLoad out;
    try {
        const store::CaptureReader reader(path.toStdString());
        auto data = std::make_shared<ReplayData>();
        data->info = reader.info();
        data->marks = reader.marks();

        const std::vector<store::TimelineRow> timeline = reader.timeline(
            std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max());
        // Rows come in (ts, series) order: one overview point per instant.
        std::vector<store::TimelineRow> instant;
        for (std::size_t i = 0; i < timeline.size(); ++i) {
            instant.push_back(timeline[i]);
            if (i + 1 == timeline.size() || timeline[i + 1].ts != timeline[i].ts) {
                data->points.push_back(overviewPointFrom(timeline[i].ts, instant));
                instant.clear();
            }
        }

        const std::vector<store::DeviceRow> devices = reader.devices();
        std::unordered_map<std::string, std::uint32_t> metricIndex;
        data->readings.reserve(static_cast<std::size_t>(data->info.samples));
        for (std::size_t d = 0; d < devices.size(); ++d) {
            if (progress && !progress(d, devices.size()))
                return {};
            data->devices.push_back(devices[d].device);
            store::SampleQuery query;
            query.device = devices[d].device;
            query.limit = static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max());
            for (const store::SampleRow& row : reader.samples(query)) {
                auto [it, added] = metricIndex.try_emplace(row.metric, data->metrics.size());
                if (added)
                    data->metrics.push_back(row.metric);
                data->readings.push_back({row.ts, static_cast<std::uint32_t>(d), it->second, row.value});
            }
        }
        if (progress && !progress(devices.size(), devices.size()))
            return {};
        // Per device they are in (ts, metric) order already; the replay walks all of them in time order.
        std::stable_sort(data->readings.begin(), data->readings.end(),
                         [](const ReplayData::Reading& a, const ReplayData::Reading& b) {
                             return a.ts != b.ts ? a.ts < b.ts : a.device < b.device;
                         });

        if (data->readings.empty() && data->points.empty()) {
            out.error = QStringLiteral("'%1' holds no readings and no gateway timeline to review").arg(path);
            return out;
        }
        std::int64_t begin = std::numeric_limits<std::int64_t>::max();
        std::int64_t end = std::numeric_limits<std::int64_t>::min();
        if (!data->readings.empty()) {
            begin = data->readings.front().ts;
            end = data->readings.back().ts;
        }
        if (!data->points.empty()) {
            begin = std::min(begin, pointMs(data->points.front()));
            end = std::max(end, pointMs(data->points.back()));
        }
        data->begin_ms = begin;
        data->end_ms = end;
        out.data = std::move(data);
    } catch (const std::exception& e) {
        out.error = QString::fromUtf8(e.what());
    }
    return out;
}

CaptureReplay::CaptureReplay(QObject* parent)
    : QObject(parent)
{
    timer_.setTimerType(Qt::PreciseTimer);
    connect(&timer_, &QTimer::timeout, this, &CaptureReplay::tick);
}

void CaptureReplay::setData(std::shared_ptr<const ReplayData> data)
{
    data_ = std::move(data);
    delta_of_.assign(data_ ? data_->devices.size() : 0, -1);
    watched_ = -1;
    if (data_) {
        const auto it = std::find(data_->devices.begin(), data_->devices.end(), watched_name_);
        if (it != data_->devices.end())
            watched_ = it - data_->devices.begin();
    }
    const bool wasPlaying = playing_;
    playing_ = false;
    position_ = endMs();
    rebuild_ = true;
    if (wasPlaying)
        emit playingChanged(false);
    emit positionChanged(position_);
}

void CaptureReplay::setSpeed(double speed)
{
    speed_ = std::clamp(speed, kMinSpeed, kMaxSpeed);
}

void CaptureReplay::setPlaying(bool playing)
{
    if (!data_ || playing == playing_)
        return;
    if (playing && position_ >= endMs())
        seek(beginMs());
    playing_ = playing;
    wall_.restart();
    emit playingChanged(playing_);
}

void CaptureReplay::seek(std::int64_t ms)
{
    if (!data_)
        return;
    position_ = std::clamp(ms, beginMs(), endMs());
    emit positionChanged(position_);
}

void CaptureReplay::setWatchedDevice(const std::string& device)
{
    watched_name_ = device;
    watched_ = -1;
    if (data_) {
        const auto it = std::find(data_->devices.begin(), data_->devices.end(), device);
        if (it != data_->devices.end())
            watched_ = it - data_->devices.begin();
    }
    // The detail page starts the device's plots afresh: it gets the readings up to now in the next frame.
    watch_backlog_ = watched_ >= 0;
}

void CaptureReplay::start(int intervalMs)
{
    wall_.start();
    timer_.start(intervalMs);
}

void CaptureReplay::stop()
{
    timer_.stop();
}

void CaptureReplay::tick()
{
    step(wall_.isValid() ? wall_.restart() : 0);
}

void CaptureReplay::step(std::int64_t wallElapsedMs)
{
    QElapsedTimer clock;
    clock.start();
    if (data_ && playing_) {
        position_ += std::llround(static_cast<double>(wallElapsedMs) * speed_);
        if (position_ >= endMs()) {
            position_ = endMs();
            playing_ = false;
            emit playingChanged(false);
        }
        emit positionChanged(position_);
    }
    buildFrame();
    emit frameReady(frame_);
    last_frame_ms_ = static_cast<double>(clock.nsecsElapsed()) / 1e6;
}

void CaptureReplay::clearFrame()
{
    frame_.now_ms = position_;
    frame_.snapshots.clear();
    frame_.points.clear();
    frame_.devices.clear();
    frame_.watched.clear();
    frame_.updates = 0;
    frame_.dropped = 0;
}

void CaptureReplay::addWatched(const ReplayData::Reading& r)
{
    if (frame_.watched.empty() || frame_.watched.back().ts_ms != r.ts) {
        frame_.watched.emplace_back();
        frame_.watched.back().device = data_->devices[r.device];
        frame_.watched.back().ts_ms = r.ts;
    }
    frame_.watched.back().metrics.push_back({data_->metrics[r.metric], r.value});
}

void CaptureReplay::addReading(const ReplayData::Reading& r)
{
    // One delta per device, as LiveFeed coalesces, except that a replayed device arrived when it posted.
    int& slot = delta_of_[r.device];
    if (slot < 0) {
        slot = static_cast<int>(frame_.devices.size());
        touched_.push_back(r.device);
        frame_.devices.emplace_back();
        frame_.devices.back().device = data_->devices[r.device];
    }
    DeviceDelta& d = frame_.devices[static_cast<std::size_t>(slot)];
    // Readings of one sample share device and ts, and are adjacent in this order.
    if (d.samples == 0 || d.last_ts_ms != r.ts) {
        ++d.samples;
        ++frame_.updates;
    }
    d.last_ts_ms = r.ts;
    d.arrived_ms = r.ts;
    const std::string& name = data_->metrics[r.metric];
    auto latest = std::find_if(d.latest.begin(), d.latest.end(),
                               [&](const telemetry::Metric& m) { return m.name == name; });
    if (latest == d.latest.end())
        d.latest.push_back({name, r.value});
    else
        latest->value = r.value;
    if (!watch_backlog_ && static_cast<std::int64_t>(r.device) == watched_)
        addWatched(r);
}

void CaptureReplay::endDeltas()
{
    for (std::uint32_t device : touched_)
        delta_of_[device] = -1;
    touched_.clear();
}

void CaptureReplay::buildFrame()
{
    clearFrame();
    if (!data_)
        return;
    const auto& readings = data_->readings;
    const auto upTo = [this](std::size_t i) {
        return i < data_->readings.size() && data_->readings[i].ts <= position_;
    };

    if (rebuild_ || position_ < emitted_) {
        // Views only ever move forward; going back means building them again from the start.
        emit resetRequested();
        rebuild_ = false;
        next_point_ = 0;
        watch_backlog_ = watched_ >= 0;
        std::size_t end = 0;
        while (upTo(end))
            ++end;
        // A first frame brings every device up to its next-to-last sample, and the next one its last: the
        // device table then knows each device's latest interval, and shows its rate as a live view would.
        std::vector<std::int64_t> last(data_->devices.size(), std::numeric_limits<std::int64_t>::min());
        for (std::size_t i = 0; i < end; ++i)
            last[readings[i].device] = readings[i].ts;
        for (std::size_t i = 0; i < end; ++i)
            if (readings[i].ts != last[readings[i].device])
                addReading(readings[i]);
        endDeltas();
        if (!frame_.devices.empty()) {
            emit frameReady(frame_);
            clearFrame();
        }
        for (std::size_t i = 0; i < end; ++i)
            if (readings[i].ts == last[readings[i].device])
                addReading(readings[i]);
        next_reading_ = end;
    } else {
        for (; upTo(next_reading_); ++next_reading_)
            addReading(readings[next_reading_]);
    }
    endDeltas();

    const auto& points = data_->points;
    while (next_point_ < points.size() && pointMs(points[next_point_]) <= position_)
        frame_.points.push_back(points[next_point_++]);

    if (watch_backlog_) {
        // What a live view would still hold of the device: its readings within the longest window.
        const auto since = position_ - static_cast<std::int64_t>(TimeWindow::kMaxSeconds * 1000);
        const auto from =
            std::lower_bound(readings.begin(), readings.begin() + static_cast<long>(next_reading_), since,
                             [](const ReplayData::Reading& r, std::int64_t ts) { return r.ts < ts; });
        for (auto it = from; it != readings.begin() + static_cast<long>(next_reading_); ++it)
            if (static_cast<std::int64_t>(it->device) == watched_)
                addWatched(*it);
        watch_backlog_ = false;
    }
    emitted_ = position_;
}

} // namespace fleetscope::ui
