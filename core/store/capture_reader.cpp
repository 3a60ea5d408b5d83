// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/store/capture.hpp"
#include "core/store/sqlite/store.hpp"

#include <algorithm>
#include <cstdlib>
#include <tuple>

namespace fleetscope::store {

CaptureReader::CaptureReader(const std::string& path)
{
    auto reader = sqlite::open_file(path);
    info_.path = path;
    info_.schema_version = reader->schema_on_disk();
    for (const auto& [key, value] : reader->meta()) {
        if (key == "capture_format")
            info_.capture_format = std::atoi(value.c_str());
        else if (key == "app_version")
            info_.app_version = value;
        else if (key == "exported_at")
            info_.exported_at = std::strtoll(value.c_str(), nullptr, 10);
        else if (key == "origin")
            info_.origin = value;
        else if (key == "filters")
            info_.filters = value;
    }
    if (info_.capture_format > kCaptureFormatVersion)
        throw StoreError("capture " + path + " has format version " + std::to_string(info_.capture_format) +
                         ", newer than this FleetScope reads (at most " +
                         std::to_string(kCaptureFormatVersion) + "); open it with a newer FleetScope");
    info_.sessions = reader->sessions();
    if (info_.app_version.empty() && !info_.sessions.empty())
        info_.app_version = info_.sessions.back().app_version;
    const Summary summary = reader->summary();
    info_.devices = summary.devices;
    info_.samples = summary.readings;
    if (info_.devices > 0 && info_.samples > 0) {
        info_.from_ts = summary.first_ts;
        info_.to_ts = summary.last_ts;
    }
    reader_ = std::move(reader);
}

CaptureReader::~CaptureReader() = default;

const CaptureInfo& CaptureReader::info() const
{
    return info_;
}

const std::string& CaptureReader::path() const
{
    return info_.path;
}

const Reader& CaptureReader::reader() const
{
    return *reader_;
}

std::vector<SessionRow> CaptureReader::sessions() const
{
    return reader_->sessions();
}

std::vector<DeviceRow> CaptureReader::devices() const
{
    return reader_->devices();
}

std::vector<SampleRow> CaptureReader::samples(const SampleQuery& q) const
{
    return reader_->samples(q);
}

std::vector<TimelineRow> CaptureReader::timeline(std::int64_t from, std::int64_t to,
                                                 const std::string& series) const
{
    TimelineQuery q;
    q.from = from;
    q.to = to;
    q.series = series;
    std::vector<TimelineRow> rows = reader_->timeline(q);
    std::sort(rows.begin(), rows.end(), [](const TimelineRow& a, const TimelineRow& b) {
        return std::tie(a.ts, a.series, a.session_id) < std::tie(b.ts, b.series, b.session_id);
    });
    return rows;
}

std::vector<std::string> CaptureReader::timeline_series() const
{
    return reader_->timeline_series();
}

std::vector<MarkRow> CaptureReader::marks() const
{
    return reader_->marks();
}

} // namespace fleetscope::store
