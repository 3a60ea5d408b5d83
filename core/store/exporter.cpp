// SPDX-License-Identifier: GPL-3.0-or-later
// export_data: picks the selection through a store::Reader, streams its readings into a sink (capture, CSV or
// JSON Lines) and, for a capture, copies the selected sessions' records after them. The Reader keeps it exact
// under a running writer (Reader::read_readings); here it is only about what to read and where it goes.
#include "core/store/capture.hpp"
#include "core/store/capture_writer.hpp"
#include "core/store/export_sinks.hpp"
#include "core/store/store.hpp"
#include "core/util/clock.hpp"
#include "core/util/glob.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <unordered_set>

#if !defined(_WIN32)
#include <fcntl.h>
#include <unistd.h>
#endif

namespace fleetscope::store {

namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

constexpr std::uint64_t kProgressRows = 16'384;

/// Thrown inside the export to unwind to export_data, which turns it into a failed ExportResult.
struct ExportFailure {
    std::string message;
};

struct Cancelled {};

[[noreturn]] void fail(std::string message)
{
    throw ExportFailure{std::move(message)};
}

/// What the export reads.
struct Selection {
    ReadingsQuery readings;
    std::vector<SessionRow> sessions; // whose marks, timeline and alerts go along
    bool whole_devices = false;       // every metric at every time: a device's row is the source's as it is
    std::vector<std::string> warnings;
};

Selection select(const Reader& source, const ExportQuery& q)
{
    const std::string& where = source.location();
    if (q.session && (q.from || q.to))
        fail("choose a session or a from/to range, not both");
    if (q.from && q.to && *q.from > *q.to)
        fail("from (" + std::to_string(*q.from) + ") is after to (" + std::to_string(*q.to) + ")");
    Selection s;
    ReadingsQuery& r = s.readings;
    r.from = q.from.value_or(kMinTime);
    r.to = q.to.value_or(kMaxTime);
    s.whole_devices = !q.session && !q.from && !q.to && q.metrics.empty();

    const std::int64_t now = util::now_ms();
    bool found = false;
    for (SessionRow& session : source.sessions()) {
        const std::int64_t end = session.ended_at.value_or(now);
        if (q.session) {
            if (session.id != *q.session)
                continue;
            r.from = session.started_at;
            r.to = end;
            found = true;
            s.sessions.push_back(std::move(session));
        } else if (session.started_at <= r.to && end >= r.from) {
            s.sessions.push_back(std::move(session));
        }
    }
    if (q.session && !found)
        fail("session " + std::to_string(*q.session) + " is not in " + where +
             " (list them with: fleetscope-gateway sessions --db FILE)");

    const std::vector<std::string> metrics = source.metric_names();
    for (const std::string& m : q.metrics) {
        if (std::binary_search(metrics.begin(), metrics.end(), m))
            r.metrics.push_back(m);
        else
            s.warnings.push_back("metric '" + m + "' is not in " + where);
    }
    if (!q.metrics.empty() && r.metrics.empty())
        r.metrics.push_back({}); // nothing named exists: select no metric rather than every one

    std::vector<bool> used(q.devices.size(), false);
    for (const DeviceRow& d : source.devices()) {
        bool take = q.devices.empty();
        for (std::size_t i = 0; i < q.devices.size(); ++i) {
            if (util::glob_match(q.devices[i], d.device)) {
                used[i] = true;
                take = true;
            }
        }
        if (take)
            r.devices.push_back(d.device);
    }
    for (std::size_t i = 0; i < q.devices.size(); ++i) {
        if (!used[i])
            s.warnings.push_back("device pattern '" + q.devices[i] + "' matches no device in " + where);
    }
    return s;
}

/// Forwards the readings to the sink, counting them for progress and devices.
class Progress final : public ReadingVisitor {
public:
    Progress(ExportSink& sink, const ProgressFn& progress)
        : sink_(sink)
        , progress_(progress)
    {}
    void begin(std::uint64_t total) override
    {
        total_ = total;
        if (progress_ && !progress_(0, total_))
            throw Cancelled{};
    }
    void device(const DeviceRow& row) override
    {
        sink_.device(row);
        ++devices_;
    }
    void reading(const std::string& metric, std::int64_t ts, double value) override
    {
        sink_.reading(metric, ts, value);
        if (++done_ < next_report_)
            return;
        next_report_ = done_ + kProgressRows;
        if (progress_ && !progress_(done_, std::max(done_, total_)))
            throw Cancelled{};
    }
    void group_end() override { sink_.group_end(); }
    void end()
    {
        if (progress_ && !progress_(done_, done_))
            throw Cancelled{};
    }
    std::uint64_t done() const { return done_; }
    std::uint64_t devices() const { return devices_; }

private:
    ExportSink& sink_;
    const ProgressFn& progress_;
    std::uint64_t total_ = 0;
    std::uint64_t done_ = 0;
    std::uint64_t next_report_ = kProgressRows;
    std::uint64_t devices_ = 0;
};

std::string filters_json(const ExportQuery& q)
{
    json::object o;
    if (q.session)
        o["session"] = *q.session;
    if (q.from)
        o["from"] = *q.from;
    if (q.to)
        o["to"] = *q.to;
    json::array devices(q.devices.begin(), q.devices.end());
    json::array metrics(q.metrics.begin(), q.metrics.end());
    o["devices"] = std::move(devices);
    o["metrics"] = std::move(metrics);
    return json::serialize(o);
}

/// The selected sessions' records, after the readings.
void copy_session_records(const Reader& source, const Selection& sel, CaptureWriter& out)
{
    if (sel.sessions.empty())
        return;
    out.add_sessions(sel.sessions);
    std::vector<std::int64_t> ids;
    for (const SessionRow& s : sel.sessions)
        ids.push_back(s.id);
    const std::int64_t from = sel.readings.from;
    const std::int64_t to = sel.readings.to;
    std::vector<MarkRow> marks;
    for (MarkRow& m : source.marks()) {
        if (std::find(ids.begin(), ids.end(), m.session_id) != ids.end() && m.from_ts <= to &&
            m.to_ts >= from)
            marks.push_back(std::move(m));
    }
    out.add_marks(marks);
    out.add_alerts(source.alerts(AlertQuery{ids, from, to}));
    TimelineQuery timeline;
    timeline.from = from;
    timeline.to = to;
    timeline.sessions = ids;
    source.timeline(timeline, [&out](const TimelineRow& row) { out.add_timeline(row); });
    out.add_timeline_end();
}

/// Makes the file's contents durable before it is renamed into place, so that a crash never leaves a
/// renamed but incomplete output.
void sync_file(const std::string& path)
{
#if !defined(_WIN32)
    const int fd = ::open(path.c_str(), O_RDONLY);
    if (fd >= 0) {
        ::fsync(fd);
        ::close(fd);
    }
#else
    (void)path;
#endif
}

/// Beside the output, so that the final rename stays within one file system; absolute, so that SQLite never
/// reads a name that starts with "file:" as a URI.
std::string temp_path_for(const std::string& out_path)
{
    std::random_device rd;
    char suffix[24];
    std::snprintf(suffix, sizeof suffix, ".part-%08x", rd());
    std::error_code ec;
    const fs::path absolute = fs::absolute(fs::path(out_path), ec);
    return (ec ? out_path : absolute.string()) + suffix;
}

void remove_quietly(const std::string& path)
{
    std::error_code ec;
    fs::remove(path, ec);
    fs::remove(path + "-journal", ec);
}

ExportResult finish(ExportResult result, const std::string& temp, std::chrono::steady_clock::time_point t0)
{
    if (result.status != ExportStatus::ok)
        remove_quietly(temp);
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return result;
}

} // namespace

std::string_view to_string(ExportFormat f)
{
    switch (f) {
    case ExportFormat::capture:
        return "capture";
    case ExportFormat::csv:
        return "csv";
    case ExportFormat::jsonl:
        return "jsonl";
    }
    return "capture";
}

std::optional<ExportFormat> parse_export_format(std::string_view name)
{
    for (const ExportFormat f : {ExportFormat::capture, ExportFormat::csv, ExportFormat::jsonl}) {
        if (name == to_string(f))
            return f;
    }
    return std::nullopt;
}

std::string_view file_extension(ExportFormat f)
{
    switch (f) {
    case ExportFormat::capture:
        return kCaptureExtension;
    case ExportFormat::csv:
        return ".csv";
    case ExportFormat::jsonl:
        return ".jsonl";
    }
    return kCaptureExtension;
}

ExportResult export_data(const Reader& source, const ExportQuery& query, ExportFormat format,
                         const std::string& out_path, const ProgressFn& progress)
{
    const auto t0 = std::chrono::steady_clock::now();
    ExportResult result;
    const std::string temp = temp_path_for(out_path);
    try {
        if (out_path.empty())
            fail("the output path is empty (expected a file path)");
        const Selection sel = select(source, query);
        result.warnings = sel.warnings;
        std::unique_ptr<ExportSink> sink;
        CaptureWriter* capture = nullptr;
        if (format == ExportFormat::capture) {
            // A device's row describes what the capture holds of it: the source's row when the device is
            // whole, else its readings here.
            auto writer = std::make_unique<CaptureWriter>(temp, !sel.whole_devices);
            capture = writer.get();
            sink = std::move(writer);
        } else {
            sink = make_text_sink(format, temp);
        }
        Progress counted(*sink, progress);
        source.read_readings(sel.readings, counted);
        if (capture) {
            copy_session_records(source, sel, *capture);
            capture->add_meta({{"capture_format", std::to_string(kCaptureFormatVersion)},
                               {"app_version", FLEETSCOPE_VERSION},
                               {"exported_at", std::to_string(util::now_ms())},
                               {"origin", fs::absolute(source.location()).string()},
                               {"filters", filters_json(query)},
                               {"samples", std::to_string(counted.done())}});
        }
        counted.end();
        sink->close();
        sink.reset();
        sync_file(temp);
        std::error_code ec;
        fs::rename(temp, out_path, ec);
        if (ec)
            fail("cannot move " + temp + " to " + out_path + ": " + ec.message());
        result.status = ExportStatus::ok;
        result.samples = counted.done();
        result.devices = counted.devices();
    } catch (const Cancelled&) {
        result.status = ExportStatus::cancelled;
    } catch (const ExportFailure& e) {
        result.status = ExportStatus::failed;
        result.error = e.message;
    } catch (const std::exception& e) {
        result.status = ExportStatus::failed;
        result.error = e.what();
    }
    return finish(std::move(result), temp, t0);
}

ExportResult export_data(const std::string& db_path, const ExportQuery& query, ExportFormat format,
                         const std::string& out_path, const ProgressFn& progress)
{
    const auto t0 = std::chrono::steady_clock::now();
    ExportResult result;
    result.status = ExportStatus::failed;
    std::error_code ec;
    const std::string file = db_path.starts_with("sqlite:") ? db_path.substr(7) : db_path;
    if (out_path.empty())
        result.error = "the output path is empty (expected a file path)";
    else if (is_shared_location(db_path))
        ; // a database server: open_reader names what is wrong with it
    else if (!fs::exists(file, ec))
        result.error = "cannot open " + file + ": no such file";
    else if (fs::exists(out_path, ec) && fs::equivalent(file, out_path, ec))
        result.error = "the output " + out_path + " is the database itself; choose another file";
    if (!result.error.empty())
        return finish(std::move(result), std::string(), t0);
    std::unique_ptr<Reader> source;
    try {
        source = open_reader(db_path);
    } catch (const std::exception& e) {
        result.error = e.what();
        return finish(std::move(result), std::string(), t0);
    }
    return export_data(*source, query, format, out_path, progress);
}

} // namespace fleetscope::store
