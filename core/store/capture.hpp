// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// Session captures: exporting a selection of a FleetScope store (a `.fleetscope` capture, CSV or JSON
// Lines) and reading a capture back for offline review. A capture is a main file of the SQLite backend
// (same schema, see sqlite/schema.cpp) with no recent file, filtered to the selection, in rollback-journal
// mode (one file, no -wal beside it), with `meta` rows that say what it is:
//   capture_format  kCaptureFormatVersion of the build that wrote it
//   app_version     FleetScope version of that build
//   exported_at     ms since epoch
//   origin          absolute path of the database it was exported from
//   filters         the ExportQuery as JSON: {"session":N,"from":MS,"to":MS,"devices":[..],"metrics":[..]}
//   samples         readings in the file

#include "core/store/reader.hpp"
#include "core/store/sqlite/schema.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fleetscope::store {

/// Version of the capture layout written in meta `capture_format`. A reader accepts every version up to its
/// own; a later build that changes what a capture holds bumps it (and keeps reading the older ones). 2: the
/// readings in chunks (schema version 3); 1: a row per reading (schema version 2).
inline constexpr int kCaptureFormatVersion = 2;

/// The schema version (PRAGMA user_version) of the SQLite files this build writes: stores and captures.
inline constexpr int kSchemaVersion = sqlite::kSchemaVersion;

/// The file name extension of a capture.
inline constexpr std::string_view kCaptureExtension = ".fleetscope";

/// What to export. A "sample" here is one reading: (device, metric, ts, value), one CSV line.
struct ExportQuery {
    /// One session's span [started_at, ended_at or now]; its marks, timeline and alerts. Exclusive with
    /// from/to.
    std::optional<std::int64_t> session;
    std::optional<std::int64_t> from; // inclusive, ms since epoch; empty: from the beginning
    std::optional<std::int64_t> to;   // inclusive, ms since epoch; empty: to the end
    /// Device name globs: `*` any run, `?` one character, `[a-z]`/`[!0-9]` a set. Empty: every device.
    std::vector<std::string> devices;
    /// Exact metric names. Empty: every metric.
    std::vector<std::string> metrics;
};

enum class ExportFormat { capture, csv, jsonl };

/// "capture", "csv", "jsonl".
std::string_view to_string(ExportFormat f);
/// The inverse of to_string; empty for anything else.
std::optional<ExportFormat> parse_export_format(std::string_view name);
/// ".fleetscope", ".csv", ".jsonl".
std::string_view file_extension(ExportFormat f);

/// Reports progress: `done` readings written of about `total` (counted when the export began; under ingest
/// `done` may pass it, and the last call has done == total). Returns false to cancel. Called on the exporting
/// thread: once with done == 0 before the first reading, about every 16k readings, and once at the end.
using ProgressFn = std::function<bool(std::uint64_t done, std::uint64_t total)>;

enum class ExportStatus { ok, cancelled, failed };

struct ExportResult {
    ExportStatus status = ExportStatus::failed;
    std::string error;                 // when failed: what went wrong, naming the file
    std::vector<std::string> warnings; // e.g. a device glob or metric name that matched nothing
    std::uint64_t samples = 0;         // readings written
    std::uint64_t devices = 0;         // devices with at least one reading written
    double seconds = 0;

    bool ok() const { return status == ExportStatus::ok; }
};

/// Writes the selection of the store `source` reads to `out_path` (replacing it). Safe while a gateway
/// records into the store: the source is read in groups of whole devices, each in one short view
/// (Reader::read_readings), so the writer never waits, and every reading committed before the export began
/// is written exactly once. The output is built in a temporary file beside `out_path` and renamed at the
/// end: on cancel or error nothing is left behind and an existing `out_path` is untouched. Blocks; run it off
/// the GUI thread and off fiber workers.
///
/// CSV: header `device,ts,iso_time,metric,value` (ts in ms since epoch, iso_time UTC ISO-8601 with ms),
/// RFC 4180 quoting, '.' decimals, shortest round-trip doubles. JSON Lines: one
/// `{"device":..,"ts":..,"metric":..,"value":..}` per line. Rows are ordered by device name, metric name, ts.
ExportResult export_data(const Reader& source, const ExportQuery& query, ExportFormat format,
                         const std::string& out_path, const ProgressFn& progress = {});

/// export_data of the store or capture at `db_path` (open_reader).
ExportResult export_data(const std::string& db_path, const ExportQuery& query, ExportFormat format,
                         const std::string& out_path, const ProgressFn& progress = {});

/// What a capture (or any FleetScope database) holds.
struct CaptureInfo {
    std::string path;
    int capture_format = 0;  // meta capture_format; 0 for a database that is not a capture
    int schema_version = 0;  // PRAGMA user_version of the file as it is on disk (before any migration)
    std::string app_version; // meta app_version; else the latest session's
    std::optional<std::int64_t> exported_at;
    std::string origin;  // meta origin
    std::string filters; // meta filters (JSON), empty when not a capture
    std::vector<SessionRow> sessions;
    std::optional<std::int64_t> from_ts; // earliest and latest reading; empty without readings
    std::optional<std::int64_t> to_ts;
    std::uint64_t devices = 0;
    std::uint64_t samples = 0; // readings
};

/// Opens a capture, or any FleetScope database, read-only for offline review: a store::Reader over the file
/// (open_reader), with what the file says about itself read once. It never writes the file: a file of an
/// older schema version is copied to a temporary file that is migrated and read instead (deleted by the
/// destructor). Thread-safe, as its Reader: a loader thread and the GUI thread may share one.
class CaptureReader {
public:
    /// Throws StoreError naming the file: missing, not a database, or made by a newer FleetScope (schema or
    /// capture format).
    explicit CaptureReader(const std::string& path);
    ~CaptureReader();
    CaptureReader(const CaptureReader&) = delete;
    CaptureReader& operator=(const CaptureReader&) = delete;

    /// Read once by the constructor.
    const CaptureInfo& info() const;
    const std::string& path() const;

    /// Every method below throws StoreError naming the file when SQLite cannot read it.
    std::vector<SessionRow> sessions() const;
    std::vector<DeviceRow> devices() const;
    /// One device's readings in (ts, metric name) order, at most `q.limit`, as Reader::samples.
    std::vector<SampleRow> samples(const SampleQuery& q) const;
    /// Timeline points with from <= ts <= to, in (ts, series) order; `series` empty: every series.
    std::vector<TimelineRow> timeline(std::int64_t from, std::int64_t to,
                                      const std::string& series = {}) const;
    /// The series names present in the file, sorted.
    std::vector<std::string> timeline_series() const;
    /// Every mark, in (from_ts, id) order.
    std::vector<MarkRow> marks() const;
    /// The Reader underneath, for every other read.
    const Reader& reader() const;

private:
    std::unique_ptr<Reader> reader_;
    CaptureInfo info_;
};

} // namespace fleetscope::store
