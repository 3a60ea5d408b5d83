// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/store/capture.hpp"

#include "core/store/schema.hpp"
#include "core/store/sqlite.hpp"
#include "core/telemetry/number.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <mutex>
#include <random>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#if !defined(_WIN32)
#include <fcntl.h>
#include <unistd.h>
#endif

// How an export reads a database that a gateway may be writing:
// - in read transactions of about kChunkRows readings each, so that the checkpointer keeps copying the WAL
//   back and the WAL restarts; a reader never blocks the writer in WAL mode, but one long read transaction
//   would let the WAL grow for the whole export;
// - a read transaction always covers whole devices: the store moves a device's rows from `recent` into
//   `samples` in one transaction (compaction), so reading both tables for a device in one transaction sees
//   each of its readings exactly once. Rows moving between two chunks of one device could otherwise be missed
//   or read twice. A single device larger than a chunk is read in one longer transaction.
// Every reading committed before the export began is thus written exactly once; readings committed while it
// runs may or may not be.

namespace fleetscope::store {

namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

constexpr std::uint64_t kChunkRows = 65'536;
constexpr std::uint64_t kProgressRows = 16'384;
constexpr int kTimelineChunkRows = 50'000;
constexpr std::size_t kOutputBuffer = 1 << 20;

/// Thrown inside the export to unwind to export_data, which turns it into a failed ExportResult.
struct ExportFailure {
    std::string message;
};

struct Cancelled {};

[[noreturn]] void fail(std::string message)
{
    throw ExportFailure{std::move(message)};
}

std::int64_t wall_ms()
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

/// Shell-style glob: `*`, `?`, and sets `[abc]`, `[a-z]`, `[!a-z]`. Iterative with one backtrack point for
/// the last `*`, so it is linear for the patterns people type.
bool glob_match(std::string_view pat, std::string_view text)
{
    std::size_t p = 0;
    std::size_t t = 0;
    std::size_t star = std::string_view::npos;
    std::size_t star_t = 0;
    auto set_match = [&](std::size_t& pi, char c) -> std::optional<bool> {
        // pat[pi] == '['; returns nullopt for an unterminated set (then '[' is literal).
        std::size_t i = pi + 1;
        bool negate = false;
        if (i < pat.size() && (pat[i] == '!' || pat[i] == '^')) {
            negate = true;
            ++i;
        }
        bool matched = false;
        bool first = true;
        for (; i < pat.size() && (first || pat[i] != ']'); ++i, first = false) {
            if (i + 2 < pat.size() && pat[i + 1] == '-' && pat[i + 2] != ']') {
                if (c >= pat[i] && c <= pat[i + 2])
                    matched = true;
                i += 2;
            } else if (pat[i] == c) {
                matched = true;
            }
        }
        if (i >= pat.size())
            return std::nullopt;
        pi = i + 1;
        return matched != negate;
    };
    while (t < text.size()) {
        if (p < pat.size() && pat[p] == '*') {
            star = p++;
            star_t = t;
            continue;
        }
        if (p < pat.size()) {
            if (pat[p] == '?') {
                ++p;
                ++t;
                continue;
            }
            if (pat[p] == '[') {
                std::size_t next = p;
                if (auto m = set_match(next, text[t])) {
                    if (*m) {
                        p = next;
                        ++t;
                        continue;
                    }
                } else if (text[t] == '[') {
                    ++p;
                    ++t;
                    continue;
                }
            } else if (pat[p] == text[t]) {
                ++p;
                ++t;
                continue;
            }
        }
        if (star == std::string_view::npos)
            return false;
        p = star + 1;
        t = ++star_t;
    }
    while (p < pat.size() && pat[p] == '*')
        ++p;
    return p == pat.size();
}

/// An SQLite URI for `path`, read-only: `?`, `#` and `%` are escaped, Windows drive paths get their slash.
std::string read_only_uri(const std::string& path)
{
    std::string p = fs::absolute(fs::path(path)).generic_string();
    std::string uri = "file:";
    if (p.size() > 1 && p[1] == ':')
        uri += '/';
    for (const char c : p) {
        if (c == '?' || c == '#' || c == '%') {
            char buf[4];
            std::snprintf(buf, sizeof buf, "%%%02X", static_cast<unsigned char>(c));
            uri += buf;
        } else {
            uri += c;
        }
    }
    return uri + "?mode=ro";
}

sql::Db open_connection(const std::string& path, int flags)
{
    sqlite3* raw = nullptr;
    const int rc = sqlite3_open_v2(path.c_str(), &raw, flags | SQLITE_OPEN_NOMUTEX, nullptr);
    sql::Db db(raw);
    if (rc != SQLITE_OK)
        throw StoreError(sql::describe(raw, "cannot open", path));
    sqlite3_extended_result_codes(raw, 1);
    sqlite3_busy_timeout(raw, 5'000);
    return db;
}

std::int64_t scalar(sqlite3* db, std::string_view query, const std::string& path)
{
    sql::Stmt s = sql::prepare(db, query, path);
    if (s.step() != SQLITE_ROW)
        throw StoreError(sql::describe(db, "cannot read " + std::string(query), path));
    return s.int64(0);
}

bool has_table(sqlite3* db, std::string_view schema, std::string_view table, const std::string& path)
{
    sql::Stmt s = sql::prepare(
        db, "SELECT 1 FROM " + std::string(schema) + ".sqlite_master WHERE type = 'table' AND name = ?1",
        path);
    s.bind(1, table);
    return s.step() == SQLITE_ROW;
}

void step_done(sql::Stmt& s, sqlite3* db, std::string_view what, const std::string& path)
{
    if (s.step() != SQLITE_DONE)
        throw StoreError(sql::describe(db, what, path));
    s.reset();
}

/// A read transaction on the source, ended when it goes out of scope.
class ReadTxn {
public:
    ReadTxn(sqlite3* db, const std::string& path)
        : db_(db)
    {
        sql::exec_or_throw(db_, "BEGIN", "cannot start a read transaction", path);
    }
    ~ReadTxn()
    {
        if (sqlite3_get_autocommit(db_) == 0)
            sql::exec(db_, "COMMIT");
    }
    ReadTxn(const ReadTxn&) = delete;
    ReadTxn& operator=(const ReadTxn&) = delete;

private:
    sqlite3* db_;
};

// ---- Number and time formatting shared by the text formats ----

void append_int(std::string& out, std::int64_t v)
{
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
}

/// Shortest text that reads back as the same double, '.' as the decimal point whatever the locale.
void append_2(std::string& out, unsigned v)
{
    out += static_cast<char>('0' + v / 10);
    out += static_cast<char>('0' + v % 10);
}

/// 2024-11-26T14:06:40.123Z
void append_iso(std::string& out, std::int64_t ms)
{
    using namespace std::chrono;
    const sys_time<milliseconds> tp{milliseconds(ms)};
    const auto day = floor<days>(tp);
    const year_month_day ymd{day};
    const hh_mm_ss hms{tp - day};
    append_int(out, static_cast<int>(ymd.year()));
    out += '-';
    append_2(out, static_cast<unsigned>(ymd.month()));
    out += '-';
    append_2(out, static_cast<unsigned>(ymd.day()));
    out += 'T';
    append_2(out, static_cast<unsigned>(hms.hours().count()));
    out += ':';
    append_2(out, static_cast<unsigned>(hms.minutes().count()));
    out += ':';
    append_2(out, static_cast<unsigned>(hms.seconds().count()));
    out += '.';
    const auto milli = static_cast<unsigned>(hms.subseconds().count());
    out += static_cast<char>('0' + milli / 100);
    append_2(out, milli % 100);
    out += 'Z';
}

/// RFC 4180: quoted only when it holds a comma, a quote or a line break; quotes doubled.
std::string csv_field(std::string_view s)
{
    if (s.find_first_of(",\"\r\n") == std::string_view::npos)
        return std::string(s);
    std::string out = "\"";
    for (const char c : s) {
        if (c == '"')
            out += '"';
        out += c;
    }
    out += '"';
    return out;
}

// ---- The selection ----

struct DeviceSel {
    std::int64_t id = 0;
    std::string name;
    std::uint64_t rows = 0; // readings selected, counted when the export began
    // The source's row for the device, read with its readings (in the same read transaction).
    std::int64_t first_seen = 0;
    std::int64_t last_seen = 0;
    std::int64_t samples = 0;
};

struct RecentRow {
    std::int64_t rowid, device, metric, ts;
    double value;
};

struct Selection {
    std::int64_t from = std::numeric_limits<std::int64_t>::min();
    std::int64_t to = std::numeric_limits<std::int64_t>::max();
    std::vector<DeviceSel> devices;                        // by id
    std::unordered_map<std::int64_t, std::string> metrics; // id -> name, every metric selected
    bool all_metrics = true;
    bool whole_devices = false;         // every metric at every time: a device's row is the source's as it is
    std::vector<std::int64_t> sessions; // whose marks, timeline and alerts go along
    std::uint64_t total = 0;
    int schema_version = 0;
    bool has_recent = true;
    std::vector<std::string> warnings;

    bool metric_selected(std::int64_t id) const { return all_metrics || metrics.count(id) != 0; }
};

/// Receives the readings in (device, metric id, ts) order.
class Sink {
public:
    virtual ~Sink() = default;
    virtual void begin_chunk() {}
    virtual void end_chunk() {}
    virtual void device(const DeviceSel& d) = 0;
    virtual void row(std::int64_t metric, const std::string& metric_name, std::int64_t ts, double value) = 0;
};

/// Buffered writes to a FILE*, failing with the OS's reason.
class TextFile {
public:
    explicit TextFile(const std::string& path)
        : path_(path)
        , f_(std::fopen(path.c_str(), "wb"))
    {
        if (!f_)
            fail("cannot create " + path + ": " + std::strerror(errno));
        buf_.reserve(kOutputBuffer + 4096);
    }
    ~TextFile()
    {
        if (f_)
            std::fclose(f_);
    }
    TextFile(const TextFile&) = delete;
    TextFile& operator=(const TextFile&) = delete;

    std::string& buffer() { return buf_; }
    void maybe_flush()
    {
        if (buf_.size() >= kOutputBuffer)
            flush();
    }
    void flush()
    {
        if (!buf_.empty() && std::fwrite(buf_.data(), 1, buf_.size(), f_) != buf_.size())
            fail("cannot write " + path_ + ": " + std::strerror(errno));
        buf_.clear();
    }
    void close()
    {
        flush();
        std::FILE* f = std::exchange(f_, nullptr);
        if (std::fflush(f) != 0 || std::fclose(f) != 0)
            fail("cannot write " + path_ + ": " + std::strerror(errno));
    }

private:
    std::string path_;
    std::FILE* f_;
    std::string buf_;
};

class CsvSink : public Sink {
public:
    explicit CsvSink(const std::string& path)
        : file_(path)
    {
        file_.buffer() += "device,ts,iso_time,metric,value\r\n";
    }
    void device(const DeviceSel& d) override { device_ = csv_field(d.name); }
    void row(std::int64_t metric, const std::string& name, std::int64_t ts, double value) override
    {
        std::string& out = file_.buffer();
        out += device_;
        out += ',';
        append_int(out, ts);
        out += ',';
        append_iso(out, ts);
        out += ',';
        auto it = names_.find(metric);
        if (it == names_.end())
            it = names_.emplace(metric, csv_field(name)).first;
        out += it->second;
        out += ',';
        telemetry::append_number(out, value);
        out += "\r\n";
        file_.maybe_flush();
    }
    void close() { file_.close(); }

private:
    TextFile file_;
    std::string device_;
    std::unordered_map<std::int64_t, std::string> names_;
};

class JsonlSink : public Sink {
public:
    explicit JsonlSink(const std::string& path)
        : file_(path)
    {}
    // Names are escaped by Boost.JSON once each; numbers are formatted here, as the shortest round-trip text.
    void device(const DeviceSel& d) override
    {
        device_ = "{\"device\":" + json::serialize(json::string(d.name));
    }
    void row(std::int64_t metric, const std::string& name, std::int64_t ts, double value) override
    {
        std::string& out = file_.buffer();
        out += device_;
        out += ",\"ts\":";
        append_int(out, ts);
        out += ",\"metric\":";
        auto it = names_.find(metric);
        if (it == names_.end())
            it = names_.emplace(metric, json::serialize(json::string(name))).first;
        out += it->second;
        out += ",\"value\":";
        telemetry::append_number(out, value);
        out += "}\n";
        file_.maybe_flush();
    }
    void close() { file_.close(); }

private:
    TextFile file_;
    std::string device_;
    std::unordered_map<std::int64_t, std::string> names_;
};

/// Writes the readings into the capture's own tables, keeping the source's device and metric ids.
class CaptureSink : public Sink {
public:
    CaptureSink(sqlite3* out, const std::string& path)
        : out_(out)
        , path_(path)
    {
        insert_sample_ = sql::prepare(
            out, "INSERT INTO main.samples(device_id, metric_id, ts, seq, value) VALUES (?1, ?2, ?3, ?4, ?5)",
            path, true);
        insert_device_ = sql::prepare(out,
                                      "INSERT INTO main.devices(id, name, first_seen, last_seen, samples)"
                                      " VALUES (?1, ?2, ?3, ?4, ?5)",
                                      path, true);
        insert_metric_ = sql::prepare(out, "INSERT INTO main.metrics(id, name) VALUES (?1, ?2)", path, true);
    }
    void begin_chunk() override { sql::exec_or_throw(out_, "BEGIN", "cannot write the capture", path_); }
    void end_chunk() override { sql::exec_or_throw(out_, "COMMIT", "cannot write the capture", path_); }
    void device(const DeviceSel& d) override
    {
        device_ = d.id;
        insert_device_.bind(1, d.id);
        insert_device_.bind(2, d.name);
        insert_device_.bind(3, d.first_seen);
        insert_device_.bind(4, d.last_seen);
        insert_device_.bind(5, d.samples);
        step_done(insert_device_, out_, "cannot write the capture's devices", path_);
        last_metric_ = -1;
    }
    void row(std::int64_t metric, const std::string& name, std::int64_t ts, double value) override
    {
        if (metrics_.insert(metric).second) {
            insert_metric_.bind(1, metric);
            insert_metric_.bind(2, name);
            step_done(insert_metric_, out_, "cannot write the capture's metrics", path_);
        }
        // Rows arrive in (metric, ts) order per device, so a repeated (metric, ts) is adjacent.
        seq_ = (metric == last_metric_ && ts == last_ts_) ? seq_ + 1 : 0;
        last_metric_ = metric;
        last_ts_ = ts;
        insert_sample_.bind(1, device_);
        insert_sample_.bind(2, metric);
        insert_sample_.bind(3, ts);
        insert_sample_.bind(4, seq_);
        insert_sample_.bind(5, value);
        step_done(insert_sample_, out_, "cannot write the capture's samples", path_);
    }

private:
    sqlite3* out_;
    const std::string& path_;
    sql::Stmt insert_sample_, insert_device_, insert_metric_;
    std::unordered_set<std::int64_t> metrics_;
    std::int64_t device_ = 0;
    std::int64_t last_metric_ = -1;
    std::int64_t last_ts_ = 0;
    std::int64_t seq_ = 0;
};

// ---- Reading the source ----

constexpr const char* kDeviceMetricIds = R"sql(
WITH RECURSIVE m(id) AS (
    SELECT (SELECT min(metric_id) FROM samples WHERE device_id = ?1)
    UNION ALL
    SELECT (SELECT min(metric_id) FROM samples WHERE device_id = ?1 AND metric_id > m.id) FROM m
    WHERE m.id IS NOT NULL)
SELECT id FROM m WHERE id IS NOT NULL)sql";

class Exporter {
public:
    Exporter(sqlite3* src, const std::string& src_path, const ExportQuery& q, const ProgressFn& progress)
        : src_(src)
        , path_(src_path)
        , q_(q)
        , progress_(progress)
    {}

    Selection select();
    void copy_readings(Sink& sink);
    std::uint64_t done() const { return done_; }
    std::uint64_t devices_written() const { return devices_written_; }
    const Selection& selection() const { return sel_; }
    /// Reports the total before the first reading; throws Cancelled if the callback says so.
    void report_start();
    /// Reports the final count; throws Cancelled if the callback says so.
    void report_end();

private:
    void tick();
    void read_chunk(std::size_t first, std::size_t last, Sink& sink);

    sqlite3* src_;
    const std::string& path_;
    const ExportQuery& q_;
    const ProgressFn& progress_;
    Selection sel_;
    std::uint64_t done_ = 0;
    std::uint64_t next_report_ = kProgressRows;
    std::uint64_t devices_written_ = 0;
};

Selection Exporter::select()
{
    Selection& s = sel_;
    if (q_.session && (q_.from || q_.to))
        fail("choose a session or a from/to range, not both");
    if (q_.from && q_.to && *q_.from > *q_.to)
        fail("from (" + std::to_string(*q_.from) + ") is after to (" + std::to_string(*q_.to) + ")");

    // The lists in one read transaction; the counts after it, each statement its own short one.
    std::optional<ReadTxn> txn;
    txn.emplace(src_, path_);
    s.schema_version = static_cast<int>(scalar(src_, "PRAGMA user_version", path_));
    if (s.schema_version > Store::kSchemaVersion)
        fail(path_ + " has schema version " + std::to_string(s.schema_version) +
             ", newer than this FleetScope understands (at most " + std::to_string(Store::kSchemaVersion) +
             ")");
    if (s.schema_version < 1 || !has_table(src_, "main", "samples", path_))
        fail(path_ + " is not a FleetScope database (no telemetry tables)");
    const bool has_sessions = has_table(src_, "main", "sessions", path_);
    s.has_recent = has_table(src_, "main", "recent", path_);

    s.whole_devices = !q_.session && !q_.from && !q_.to && q_.metrics.empty();
    if (q_.from)
        s.from = *q_.from;
    if (q_.to)
        s.to = *q_.to;
    if (has_sessions) {
        sql::Stmt st = sql::prepare(src_, "SELECT id, started_at, ended_at FROM sessions ORDER BY id", path_);
        const std::int64_t now = wall_ms();
        bool found = false;
        while (st.step() == SQLITE_ROW) {
            const std::int64_t id = st.int64(0);
            const std::int64_t start = st.int64(1);
            const std::int64_t end = sqlite3_column_type(st.get(), 2) == SQLITE_NULL ? now : st.int64(2);
            if (q_.session) {
                if (id == *q_.session) {
                    s.from = start;
                    s.to = end;
                    s.sessions.push_back(id);
                    found = true;
                }
            } else if (start <= s.to && end >= s.from) {
                s.sessions.push_back(id);
            }
        }
        if (q_.session && !found)
            fail("session " + std::to_string(*q_.session) + " is not in " + path_ +
                 " (list them with: fleetscope-gateway sessions --db FILE)");
    } else if (q_.session) {
        fail(path_ + " records no sessions (schema version " + std::to_string(s.schema_version) + ")");
    }

    {
        sql::Stmt st = sql::prepare(src_, "SELECT id, name FROM metrics", path_);
        std::unordered_set<std::string> wanted(q_.metrics.begin(), q_.metrics.end());
        s.all_metrics = wanted.empty();
        std::unordered_set<std::string> seen;
        while (st.step() == SQLITE_ROW) {
            std::string name(st.text(1));
            if (s.all_metrics || wanted.count(name)) {
                seen.insert(name);
                s.metrics.emplace(st.int64(0), std::move(name));
            }
        }
        for (const std::string& m : q_.metrics) {
            if (!seen.count(m))
                s.warnings.push_back("metric '" + m + "' is not in " + path_);
        }
    }
    {
        sql::Stmt st = sql::prepare(src_, "SELECT id, name FROM devices ORDER BY id", path_);
        std::vector<bool> used(q_.devices.size(), false);
        while (st.step() == SQLITE_ROW) {
            const std::string_view name = st.text(1);
            bool take = q_.devices.empty();
            for (std::size_t i = 0; i < q_.devices.size(); ++i) {
                if (glob_match(q_.devices[i], name)) {
                    used[i] = true;
                    take = true;
                }
            }
            if (take)
                s.devices.push_back(DeviceSel{st.int64(0), std::string(name), 0});
        }
        for (std::size_t i = 0; i < q_.devices.size(); ++i) {
            if (!used[i])
                s.warnings.push_back("device pattern '" + q_.devices[i] + "' matches no device in " + path_);
        }
    }

    txn.reset();

    // Count what is selected, for progress and chunking: a range count per series is an index range scan.
    sql::Stmt per_device = sql::prepare(
        src_, "SELECT count(*) FROM samples WHERE device_id = ?1 AND ts >= ?2 AND ts <= ?3", path_);
    sql::Stmt per_series = sql::prepare(
        src_,
        "SELECT count(*) FROM samples WHERE device_id = ?1 AND metric_id = ?2 AND ts >= ?3 AND ts <= ?4",
        path_);
    std::unordered_map<std::int64_t, std::size_t> index;
    for (std::size_t i = 0; i < s.devices.size(); ++i) {
        DeviceSel& d = s.devices[i];
        index.emplace(d.id, i);
        if (s.metrics.empty())
            continue;
        if (s.all_metrics) {
            per_device.bind(1, d.id);
            per_device.bind(2, s.from);
            per_device.bind(3, s.to);
            if (per_device.step() == SQLITE_ROW)
                d.rows = static_cast<std::uint64_t>(per_device.int64(0));
            per_device.reset();
        } else {
            for (const auto& [metric, name] : s.metrics) {
                per_series.bind(1, d.id);
                per_series.bind(2, metric);
                per_series.bind(3, s.from);
                per_series.bind(4, s.to);
                if (per_series.step() == SQLITE_ROW)
                    d.rows += static_cast<std::uint64_t>(per_series.int64(0));
                per_series.reset();
            }
        }
    }
    if (s.has_recent) {
        sql::Stmt st = sql::prepare(src_, "SELECT device_id, metric_id, ts FROM recent", path_);
        while (st.step() == SQLITE_ROW) {
            const auto it = index.find(st.int64(0));
            const std::int64_t ts = st.int64(2);
            if (it != index.end() && s.metric_selected(st.int64(1)) && ts >= s.from && ts <= s.to)
                ++s.devices[it->second].rows;
        }
    }
    for (const DeviceSel& d : s.devices)
        s.total += d.rows;
    return s;
}

void Exporter::tick()
{
    ++done_;
    if (done_ < next_report_)
        return;
    next_report_ = done_ + kProgressRows;
    if (progress_ && !progress_(done_, std::max(done_, sel_.total)))
        throw Cancelled{};
}

void Exporter::report_start()
{
    if (progress_ && !progress_(0, sel_.total))
        throw Cancelled{};
}

void Exporter::report_end()
{
    if (progress_ && !progress_(done_, done_))
        throw Cancelled{};
}

void Exporter::copy_readings(Sink& sink)
{
    // Whole devices per chunk, about kChunkRows readings each (devices with none selected are skipped).
    std::size_t first = 0;
    while (first < sel_.devices.size()) {
        std::uint64_t rows = 0;
        std::size_t last = first;
        while (last < sel_.devices.size() && (last == first || rows + sel_.devices[last].rows <= kChunkRows))
            rows += sel_.devices[last++].rows;
        if (rows > 0)
            read_chunk(first, last, sink);
        first = last;
    }
}

void Exporter::read_chunk(std::size_t first, std::size_t last, Sink& sink)
{
    ReadTxn txn(src_, path_);
    const std::int64_t lo = sel_.devices[first].id;
    const std::int64_t hi = sel_.devices[last - 1].id;

    // The chunk's rows still in `recent`, in (device, metric, ts, commit) order.
    std::vector<RecentRow> recent;
    if (sel_.has_recent) {
        sql::Stmt st = sql::prepare(src_,
                                    "SELECT rowid, device_id, metric_id, ts, value FROM recent WHERE "
                                    "device_id >= ?1 AND device_id <= ?2",
                                    path_);
        st.bind(1, lo);
        st.bind(2, hi);
        int rc;
        while ((rc = st.step()) == SQLITE_ROW) {
            const RecentRow r{st.int64(0), st.int64(1), st.int64(2), st.int64(3), st.real(4)};
            if (sel_.metric_selected(r.metric) && r.ts >= sel_.from && r.ts <= sel_.to)
                recent.push_back(r);
        }
        if (rc != SQLITE_DONE)
            throw StoreError(sql::describe(src_, "cannot read recent samples", path_));
        std::sort(recent.begin(), recent.end(), [](const RecentRow& a, const RecentRow& b) {
            return std::tie(a.device, a.metric, a.ts, a.rowid) < std::tie(b.device, b.metric, b.ts, b.rowid);
        });
    }

    sql::Stmt device_row =
        sql::prepare(src_, "SELECT first_seen, last_seen, samples FROM devices WHERE id = ?1", path_);
    sql::Stmt metric_ids = sql::prepare(src_, kDeviceMetricIds, path_);
    sql::Stmt series = sql::prepare(src_,
                                    "SELECT ts, value FROM samples WHERE device_id = ?1 AND metric_id = ?2"
                                    " AND ts >= ?3 AND ts <= ?4 ORDER BY ts, seq",
                                    path_);
    auto rit = recent.begin();
    sink.begin_chunk();
    for (std::size_t i = first; i < last; ++i) {
        DeviceSel& d = sel_.devices[i];
        if (d.rows == 0)
            continue; // nothing selected when the export began
        device_row.bind(1, d.id);
        if (device_row.step() == SQLITE_ROW) {
            d.first_seen = device_row.int64(0);
            d.last_seen = device_row.int64(1);
            d.samples = device_row.int64(2);
        }
        device_row.reset();
        // The series to read: those in `samples` (one index seek each) and those only in `recent`.
        std::vector<std::int64_t> ids;
        if (sel_.all_metrics) {
            metric_ids.bind(1, d.id);
            int rc;
            while ((rc = metric_ids.step()) == SQLITE_ROW)
                ids.push_back(metric_ids.int64(0));
            if (rc != SQLITE_DONE)
                throw StoreError(sql::describe(src_, "cannot list the metrics of " + d.name, path_));
            metric_ids.reset();
        } else {
            for (const auto& [id, name] : sel_.metrics)
                ids.push_back(id);
        }
        while (rit != recent.end() && rit->device < d.id)
            ++rit;
        const auto device_end =
            std::find_if(rit, recent.end(), [&](const RecentRow& r) { return r.device != d.id; });
        for (auto r = rit; r != device_end; ++r)
            ids.push_back(r->metric);
        std::sort(ids.begin(), ids.end());
        ids.erase(std::unique(ids.begin(), ids.end()), ids.end());

        bool announced = false;
        for (const std::int64_t metric : ids) {
            const auto name_it = sel_.metrics.find(metric);
            if (name_it == sel_.metrics.end())
                continue; // a metric created after the selection was made
            const std::string& name = name_it->second;
            series.bind(1, d.id);
            series.bind(2, metric);
            series.bind(3, sel_.from);
            series.bind(4, sel_.to);
            // Merge the stored series with its rows in `recent`, both in ts order (stored rows first on a
            // tie).
            while (rit != device_end && rit->metric < metric)
                ++rit;
            int rc = series.step();
            for (;;) {
                const bool have_stored = rc == SQLITE_ROW;
                const bool have_recent = rit != device_end && rit->metric == metric;
                if (!have_stored && !have_recent)
                    break;
                if (!announced) {
                    sink.device(d);
                    ++devices_written_;
                    announced = true;
                }
                if (have_stored && (!have_recent || series.int64(0) <= rit->ts)) {
                    sink.row(metric, name, series.int64(0), series.real(1));
                    rc = series.step();
                } else {
                    sink.row(metric, name, rit->ts, rit->value);
                    ++rit;
                }
                tick();
            }
            if (rc != SQLITE_DONE)
                throw StoreError(sql::describe(src_, "cannot read the samples of " + d.name, path_));
            series.reset();
        }
        rit = device_end;
    }
    sink.end_chunk();
}

// ---- Capture files ----

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

/// The columns `table` has in both schemas, as "a, b, c".
std::string common_columns(sqlite3* db, const std::string& table, const std::string& path)
{
    auto columns = [&](const std::string& schema) {
        std::vector<std::string> out;
        sql::Stmt st = sql::prepare(db, "SELECT name FROM pragma_table_info(?1, ?2)", path);
        st.bind(1, table);
        st.bind(2, schema);
        while (st.step() == SQLITE_ROW)
            out.emplace_back(st.text(0));
        return out;
    };
    const auto src = columns("src");
    std::string list;
    for (const std::string& c : columns("main")) {
        if (std::find(src.begin(), src.end(), c) == src.end())
            continue;
        if (!list.empty())
            list += ", ";
        list += '"' + c + '"';
    }
    return list;
}

/// Copies the session records of the selection: the sessions, their marks, timeline and alerts, each in its
/// own short transactions (the timeline in chunks).
void copy_session_tables(sqlite3* out, const Selection& sel, const std::string& out_path,
                         const std::string& src_path)
{
    if (sel.sessions.empty())
        return;
    std::string ids;
    for (const std::int64_t id : sel.sessions)
        ids += (ids.empty() ? "" : ",") + std::to_string(id);
    const std::string in_sessions = "(" + ids + ")";
    const std::string from = std::to_string(sel.from);
    const std::string to = std::to_string(sel.to);
    auto copy = [&](const std::string& table, const std::string& where) {
        if (!has_table(out, "src", table, src_path))
            return;
        const std::string cols = common_columns(out, table, out_path);
        const std::string sql = "INSERT INTO main." + table + "(" + cols + ") SELECT " + cols + " FROM src." +
                                table + " WHERE " + where;
        sql::exec_or_throw(out, sql.c_str(), "cannot copy " + table + " from " + src_path, out_path);
    };
    copy("sessions", "id IN " + in_sessions);
    copy("marks", "session_id IN " + in_sessions + " AND from_ts <= " + to + " AND to_ts >= " + from);
    copy("alerts", "session_id IN " + in_sessions + " AND raised_at <= " + to +
                       " AND coalesce(cleared_at, raised_at) >= " + from);

    if (!has_table(out, "src", "timeline", src_path))
        return;
    // Keyset chunks in primary-key order: each INSERT ... SELECT is one short read of the source.
    sql::Stmt chunk = sql::prepare(out,
                                   "INSERT INTO main.timeline(session_id, series, ts, value)"
                                   " SELECT session_id, series, ts, value FROM src.timeline"
                                   " WHERE session_id IN " +
                                       in_sessions + " AND ts >= " + from + " AND ts <= " + to +
                                       " AND (session_id, series, ts) > (?1, ?2, ?3)"
                                       " ORDER BY session_id, series, ts LIMIT " +
                                       std::to_string(kTimelineChunkRows),
                                   out_path);
    sql::Stmt last = sql::prepare(out,
                                  "SELECT session_id, series, ts FROM main.timeline ORDER BY session_id "
                                  "DESC, series DESC, ts DESC LIMIT 1",
                                  out_path);
    std::int64_t k_session = std::numeric_limits<std::int64_t>::min();
    std::string k_series;
    std::int64_t k_ts = std::numeric_limits<std::int64_t>::min();
    for (;;) {
        chunk.bind(1, k_session);
        chunk.bind(2, k_series);
        chunk.bind(3, k_ts);
        step_done(chunk, out, "cannot copy the timeline from " + src_path, out_path);
        if (sqlite3_changes(out) == 0)
            break;
        if (last.step() != SQLITE_ROW)
            break;
        k_session = last.int64(0);
        k_series = std::string(last.text(1));
        k_ts = last.int64(2);
        last.reset();
    }
}

void write_meta(sqlite3* out, const std::string& out_path,
                const std::vector<std::pair<std::string, std::string>>& rows)
{
    sql::Stmt st =
        sql::prepare(out, "INSERT OR REPLACE INTO main.meta(key, value) VALUES (?1, ?2)", out_path);
    for (const auto& [k, v] : rows) {
        st.bind(1, k);
        st.bind(2, v);
        step_done(st, out, "cannot write the capture's meta", out_path);
    }
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

/// Beside the output, so that the final rename stays within one file system; absolute, so that SQLite (whose
/// capture connection accepts URIs, for ATTACH) never reads a name that starts with "file:" as one.
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

} // namespace

std::string format_iso_time(std::int64_t ms)
{
    std::string out;
    append_iso(out, ms);
    return out;
}

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

ExportResult export_data(const std::string& db_path, const ExportQuery& query, ExportFormat format,
                         const std::string& out_path, const ProgressFn& progress)
{
    const auto t0 = std::chrono::steady_clock::now();
    ExportResult result;
    const std::string temp = temp_path_for(out_path);
    try {
        std::error_code ec;
        if (out_path.empty())
            fail("the output path is empty (expected a file path)");
        if (!fs::exists(db_path, ec))
            fail("cannot open " + db_path + ": no such file");
        if (fs::exists(out_path, ec) && fs::equivalent(db_path, out_path, ec))
            fail("the output " + out_path + " is the database itself; choose another file");

        sql::Db src = open_connection(db_path, SQLITE_OPEN_READONLY);
        Exporter exporter(src.get(), db_path, query, progress);
        const Selection& sel = exporter.select();
        result.warnings = sel.warnings;
        exporter.report_start();

        if (format == ExportFormat::capture) {
            sql::Db out = open_connection(temp, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI);
            // The temporary file is deleted on any failure, so it needs no journal; it is synced before the
            // rename instead.
            sql::exec_or_throw(out.get(),
                               "PRAGMA page_size = 4096; PRAGMA journal_mode = OFF;"
                               " PRAGMA synchronous = OFF; PRAGMA cache_size = -32768",
                               "cannot set up the capture", temp);
            migrate_schema(out.get(), temp);
            {
                CaptureSink sink(out.get(), temp);
                exporter.copy_readings(sink);
            }
            const std::string attach = "ATTACH DATABASE ?1 AS src";
            sql::Stmt at = sql::prepare(out.get(), attach, temp);
            const std::string uri = read_only_uri(db_path);
            at.bind(1, uri);
            if (at.step() != SQLITE_DONE)
                throw StoreError(sql::describe(out.get(), "cannot attach " + db_path, temp));
            at = sql::Stmt();
            copy_session_tables(out.get(), sel, temp, db_path);
            sql::exec_or_throw(out.get(), "DETACH DATABASE src", "cannot detach the source", temp);
            // A device's row describes what the capture holds of it: the source's row when the device is
            // whole, else its readings here, counting distinct sample times as the store counts samples.
            if (!sel.whole_devices)
                sql::exec_or_throw(
                    out.get(),
                    "UPDATE devices SET"
                    " first_seen = (SELECT min(ts) FROM samples WHERE device_id = devices.id),"
                    " last_seen = (SELECT max(ts) FROM samples WHERE device_id = devices.id),"
                    " samples = (SELECT count(DISTINCT ts) FROM samples WHERE device_id = devices.id)",
                    "cannot write the capture's devices", temp);
            write_meta(out.get(), temp,
                       {{"capture_format", std::to_string(kCaptureFormatVersion)},
                        {"app_version", FLEETSCOPE_VERSION},
                        {"exported_at", std::to_string(wall_ms())},
                        {"origin", fs::absolute(db_path).string()},
                        {"filters", filters_json(query)},
                        {"source_schema", std::to_string(sel.schema_version)},
                        {"samples", std::to_string(exporter.done())}});
            exporter.report_end();
            // One self-contained file: the rollback journal, never WAL.
            sql::exec_or_throw(out.get(), "PRAGMA journal_mode = DELETE", "cannot finish the capture", temp);
        } else if (format == ExportFormat::csv) {
            CsvSink sink(temp);
            exporter.copy_readings(sink);
            exporter.report_end();
            sink.close();
        } else {
            JsonlSink sink(temp);
            exporter.copy_readings(sink);
            exporter.report_end();
            sink.close();
        }
        src = sql::Db();
        sync_file(temp);
        fs::rename(temp, out_path, ec);
        if (ec)
            fail("cannot move " + temp + " to " + out_path + ": " + ec.message());
        result.status = ExportStatus::ok;
        result.samples = exporter.done();
        result.devices = exporter.devices_written();
    } catch (const Cancelled&) {
        result.status = ExportStatus::cancelled;
    } catch (const ExportFailure& e) {
        result.status = ExportStatus::failed;
        result.error = e.message;
    } catch (const std::exception& e) {
        result.status = ExportStatus::failed;
        result.error = e.what();
    }
    if (result.status != ExportStatus::ok)
        remove_quietly(temp);
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return result;
}

// ---- CaptureReader ----

struct CaptureReader::Impl {
    mutable std::mutex mutex;
    std::string path;
    std::string temp_copy; // the migrated copy of an older file; empty when the file is read directly
    sql::Db db;
    CaptureInfo info;

    void read_info();
    std::vector<SessionRow> sessions() const;
};

namespace {

/// Copies the database at `path` (whatever its journal mode) into a new file `to` with SQLite's backup API.
void backup_to(sqlite3* from, const std::string& from_path, const std::string& to)
{
    sql::Db dst = open_connection(to, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    sqlite3_backup* b = sqlite3_backup_init(dst.get(), "main", from, "main");
    if (!b)
        throw StoreError(sql::describe(dst.get(), "cannot copy " + from_path + " to", to));
    const int rc = sqlite3_backup_step(b, -1);
    sqlite3_backup_finish(b);
    if (rc != SQLITE_DONE)
        throw StoreError(sql::describe(dst.get(), "cannot copy " + from_path + " to", to));
}

std::string reader_temp_path()
{
    std::random_device rd;
    char name[48];
    std::snprintf(name, sizeof name, "fleetscope-capture-%08x%08x.db", rd(), rd());
    return (fs::temp_directory_path() / name).string();
}

} // namespace

CaptureReader::CaptureReader(const std::string& path)
    : impl_(std::make_unique<Impl>())
{
    Impl& d = *impl_;
    d.path = path;
    std::error_code ec;
    if (!fs::exists(path, ec))
        throw StoreError("cannot open capture " + path + ": no such file");
    // Read-only: opening never creates, migrates or checkpoints the user's file.
    d.db = open_connection(path, SQLITE_OPEN_READONLY);
    const auto version = static_cast<int>(scalar(d.db.get(), "PRAGMA user_version", path));
    d.info.path = path;
    d.info.schema_version = version;
    if (version > Store::kSchemaVersion)
        throw StoreError("capture " + path + " has schema version " + std::to_string(version) +
                         ", newer than this FleetScope understands (at most " +
                         std::to_string(Store::kSchemaVersion) + "); open it with a newer FleetScope");
    if (version < 1 || !has_table(d.db.get(), "main", "samples", path))
        throw StoreError(path + " is not a FleetScope capture or database (no telemetry tables)");
    if (version < Store::kSchemaVersion) {
        d.temp_copy = reader_temp_path();
        try {
            backup_to(d.db.get(), path, d.temp_copy);
            d.db = open_connection(d.temp_copy, SQLITE_OPEN_READWRITE);
            sql::exec_or_throw(d.db.get(), "PRAGMA journal_mode = DELETE", "cannot prepare the copy",
                               d.temp_copy);
            migrate_schema(d.db.get(), d.temp_copy);
            sql::exec(d.db.get(), "PRAGMA query_only = 1");
        } catch (const StoreError& e) {
            d.db = sql::Db();
            remove_quietly(d.temp_copy);
            throw StoreError("cannot open capture " + path + " of schema version " + std::to_string(version) +
                             ": " + e.what());
        }
    }
    try {
        d.read_info();
    } catch (...) {
        d.db = sql::Db();
        if (!d.temp_copy.empty())
            remove_quietly(d.temp_copy);
        throw;
    }
}

CaptureReader::~CaptureReader()
{
    impl_->db = sql::Db();
    if (!impl_->temp_copy.empty())
        remove_quietly(impl_->temp_copy);
}

void CaptureReader::Impl::read_info()
{
    sqlite3* h = db.get();
    ReadTxn txn(h, path);
    {
        sql::Stmt st = sql::prepare(h, "SELECT key, value FROM meta", path);
        while (st.step() == SQLITE_ROW) {
            const std::string_view key = st.text(0);
            const std::string value(st.text(1));
            if (key == "capture_format")
                info.capture_format = std::atoi(value.c_str());
            else if (key == "app_version")
                info.app_version = value;
            else if (key == "exported_at")
                info.exported_at = std::strtoll(value.c_str(), nullptr, 10);
            else if (key == "origin")
                info.origin = value;
            else if (key == "filters")
                info.filters = value;
        }
    }
    if (info.capture_format > kCaptureFormatVersion)
        throw StoreError("capture " + path + " has format version " + std::to_string(info.capture_format) +
                         ", newer than this FleetScope reads (at most " +
                         std::to_string(kCaptureFormatVersion) + "); open it with a newer FleetScope");
    info.sessions = sessions();
    if (info.app_version.empty() && !info.sessions.empty())
        info.app_version = info.sessions.back().app_version;
    info.devices = static_cast<std::uint64_t>(scalar(h, "SELECT count(*) FROM devices", path));
    info.samples = static_cast<std::uint64_t>(scalar(h, "SELECT count(*) FROM samples", path) +
                                              scalar(h, "SELECT count(*) FROM recent", path));
    if (info.devices > 0 && info.samples > 0) {
        info.from_ts = scalar(h, "SELECT min(first_seen) FROM devices", path);
        info.to_ts = scalar(h, "SELECT max(last_seen) FROM devices", path);
    }
}

std::vector<SessionRow> CaptureReader::Impl::sessions() const
{
    return read_sessions(db.get(), path);
}

const CaptureInfo& CaptureReader::info() const
{
    return impl_->info;
}

const std::string& CaptureReader::path() const
{
    return impl_->path;
}

std::vector<SessionRow> CaptureReader::sessions() const
{
    std::lock_guard lock(impl_->mutex);
    return impl_->sessions();
}

std::vector<DeviceRow> CaptureReader::devices() const
{
    const Impl& d = *impl_;
    std::lock_guard lock(d.mutex);
    sql::Stmt q = sql::prepare(
        d.db.get(), "SELECT name, first_seen, last_seen, samples FROM devices ORDER BY name", d.path);
    std::vector<DeviceRow> out;
    int rc;
    while ((rc = q.step()) == SQLITE_ROW)
        out.push_back(DeviceRow{std::string(q.text(0)), q.int64(1), q.int64(2), q.int64(3)});
    if (rc != SQLITE_DONE)
        throw StoreError(sql::describe(d.db.get(), "cannot read devices", d.path));
    return out;
}

std::vector<SampleRow> CaptureReader::samples(const SampleQuery& q) const
{
    const Impl& d = *impl_;
    std::vector<SampleRow> out;
    if (q.limit == 0)
        return out;
    std::lock_guard lock(d.mutex);
    // CROSS JOIN keeps `metrics` as the outer loop: one index range of `samples` per metric.
    sql::Stmt st = sql::prepare(d.db.get(), R"sql(
SELECT ts, name, value FROM (
    SELECT s.ts AS ts, m.name AS name, s.value AS value, s.seq AS k
    FROM metrics m CROSS JOIN samples s
    WHERE s.device_id = (SELECT id FROM devices WHERE name = ?1) AND s.metric_id = m.id
      AND s.ts >= ?3 AND s.ts <= ?4 AND (?2 IS NULL OR m.name = ?2)
    UNION ALL
    SELECT r.ts, m.name, r.value, r.rowid + 4294967296
    FROM recent r JOIN metrics m ON m.id = r.metric_id
    WHERE r.device_id = (SELECT id FROM devices WHERE name = ?1)
      AND r.ts >= ?3 AND r.ts <= ?4 AND (?2 IS NULL OR m.name = ?2))
ORDER BY ts, name, k LIMIT ?5)sql",
                                d.path);
    st.bind(1, q.device);
    if (q.metric.empty())
        st.bind_null(2);
    else
        st.bind(2, q.metric);
    st.bind(3, q.from.value_or(std::numeric_limits<std::int64_t>::min()));
    st.bind(4, q.to.value_or(std::numeric_limits<std::int64_t>::max()));
    st.bind(5, static_cast<std::int64_t>(
                   std::min<std::size_t>(q.limit, std::numeric_limits<std::int64_t>::max())));
    int rc;
    while ((rc = st.step()) == SQLITE_ROW)
        out.push_back(SampleRow{st.int64(0), std::string(st.text(1)), st.real(2)});
    if (rc != SQLITE_DONE)
        throw StoreError(sql::describe(d.db.get(), "cannot read the samples of " + q.device, d.path));
    return out;
}

std::vector<TimelineRow> CaptureReader::timeline(std::int64_t from, std::int64_t to,
                                                 const std::string& series) const
{
    const Impl& d = *impl_;
    std::lock_guard lock(d.mutex);
    sql::Stmt st = sql::prepare(d.db.get(),
                                "SELECT series, ts, value FROM timeline WHERE ts >= ?1 AND ts <= ?2"
                                " AND (?3 IS NULL OR series = ?3) ORDER BY ts, series",
                                d.path);
    st.bind(1, from);
    st.bind(2, to);
    if (series.empty())
        st.bind_null(3);
    else
        st.bind(3, series);
    std::vector<TimelineRow> out;
    int rc;
    while ((rc = st.step()) == SQLITE_ROW)
        out.push_back(TimelineRow{std::string(st.text(0)), st.int64(1), st.real(2)});
    if (rc != SQLITE_DONE)
        throw StoreError(sql::describe(d.db.get(), "cannot read the timeline", d.path));
    return out;
}

std::vector<std::string> CaptureReader::timeline_series() const
{
    const Impl& d = *impl_;
    std::lock_guard lock(d.mutex);
    sql::Stmt st = sql::prepare(d.db.get(), "SELECT DISTINCT series FROM timeline ORDER BY series", d.path);
    std::vector<std::string> out;
    int rc;
    while ((rc = st.step()) == SQLITE_ROW)
        out.emplace_back(st.text(0));
    if (rc != SQLITE_DONE)
        throw StoreError(sql::describe(d.db.get(), "cannot read the timeline series", d.path));
    return out;
}

std::vector<MarkRow> CaptureReader::marks() const
{
    const Impl& d = *impl_;
    std::lock_guard lock(d.mutex);
    sql::Stmt st = sql::prepare(
        d.db.get(), "SELECT id, session_id, label, from_ts, to_ts FROM marks ORDER BY from_ts, id", d.path);
    std::vector<MarkRow> out;
    int rc;
    while ((rc = st.step()) == SQLITE_ROW)
        out.push_back(MarkRow{st.int64(0), st.int64(1), std::string(st.text(2)), st.int64(3), st.int64(4)});
    if (rc != SQLITE_DONE)
        throw StoreError(sql::describe(d.db.get(), "cannot read the marks", d.path));
    return out;
}

} // namespace fleetscope::store
