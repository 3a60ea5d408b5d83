// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/store/sqlite/reader.hpp"

#include "core/store/sqlite/batch.hpp"
#include "core/store/sqlite/chunk.hpp"
#include "core/store/sqlite/hooks.hpp"
#include "core/store/sqlite/schema.hpp"
#include "core/store/sqlite/series_cursor.hpp"

#include <queue>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

// Every read sees the two tiers of a store as of one moment: the readings moved into `chunks` (the main
// file), and the batches of the recent file the compactor has not moved yet (id > compaction.moved_through).
// The view takes the recent file's snapshot first and the main file's second, and that order is what makes
// it exact (docs/architecture.md, "The store"):
// - a batch committed before the recent snapshot is, in the main snapshot, either moved (id <= moved_through:
//   read from `chunks`, skipped in the recent file) or not (read from the recent file, which still holds it:
//   the writer removes a batch only after its move committed, and that move would then be in the main
//   snapshot too). Either way exactly once;
// - a batch committed after the recent snapshot is either absent, or moved in time for the main snapshot, and
//   then read once, from `chunks`, with every batch before it.
// Taken the other way round, a compaction and a removal falling between the two snapshots would hide the
// batches they moved from both.

namespace fleetscope::store::sqlite {

std::atomic<void (*)()> g_between_snapshots{nullptr};
std::atomic<void (*)(const char*)> g_fault_point{nullptr};

namespace {

constexpr std::size_t kPoolConnections = 4;
constexpr int kCacheKiB = 8 * 1024;
constexpr std::int64_t kTimelineChunk = 50'000;

// The metric ids present in `chunks` for one device, with their names, one index seek each (a manual
// skip-scan).
constexpr const char* kDeviceMetrics = R"sql(
WITH RECURSIVE m(id) AS (
    SELECT (SELECT min(metric_id) FROM chunks WHERE device_id = ?1)
    UNION ALL
    SELECT (SELECT min(metric_id) FROM chunks WHERE device_id = ?1 AND metric_id > m.id) FROM m
    WHERE m.id IS NOT NULL)
SELECT m.id, metrics.name FROM m JOIN metrics ON metrics.id = m.id)sql";

/// One consistent view of the store; see the comment at the top of this file.
class View {
public:
    View(sqlite3* db, bool with_recent, const std::string& path)
        : txn_(db, path)
        , with_recent_(with_recent)
    {
        // In WAL mode a read transaction takes each file's snapshot at its first read of that file, not at
        // BEGIN: first a read of the recent file alone, then one of the main file.
        if (with_recent_)
            query_int(db, "SELECT count(*) FROM recent_file.recent WHERE id < 0", path);
        if (auto hook = g_between_snapshots.load())
            hook();
        moved_through_ = query_int(db, "SELECT moved_through FROM main.compaction", path);
    }
    bool with_recent() const { return with_recent_; }
    std::int64_t moved_through() const { return moved_through_; }

private:
    ReadTxn txn_;
    bool with_recent_;
    std::int64_t moved_through_ = 0;
};

/// Calls `fn` with each batch of the view's recent file that is not moved yet, in commit order.
template <class Fn>
void for_each_unmoved(sqlite3* db, const View& view, const std::string& path, Fn&& fn)
{
    if (!view.with_recent())
        return;
    Stmt st = prepare(db, "SELECT batch FROM recent_file.recent WHERE id > ?1 ORDER BY id", path);
    st.bind(1, view.moved_through());
    int rc;
    while ((rc = st.step()) == SQLITE_ROW) {
        BatchDecoder batch(st.blob(0), path);
        fn(batch);
    }
    if (rc != SQLITE_DONE)
        throw StoreError(describe(db, "cannot read the recent file", path));
}

/// A reading of the recent file.
struct RecentReading {
    std::int64_t device;
    std::int64_t metric;
    std::int64_t ts;
    double value;
};

struct Delta {
    std::int64_t first = kMaxTime;
    std::int64_t last = kMinTime;
    std::int64_t samples = 0;
    void add(std::int64_t ts)
    {
        first = std::min(first, ts);
        last = std::max(last, ts);
        ++samples;
    }
};

/// What the unmoved batches of a view hold, as much of it as a read asks for.
struct RecentTier {
    std::unordered_map<std::int64_t, std::string> device_names; // first seen in the recent file
    std::unordered_map<std::int64_t, std::string> metric_names;
    std::unordered_map<std::int64_t, Delta> deltas; // every device's samples, when counted
    std::vector<RecentReading> readings;            // those `want` accepted, in commit order
    std::uint64_t reading_count = 0;                // every reading
};

/// Decodes the view's unmoved batches. `want(device, metric, ts)` picks the readings to keep; `on_name` sees
/// each new device name with its id first (to learn the id of a device the main file does not know yet).
template <class Want, class OnName>
RecentTier read_recent(sqlite3* db, const View& view, const std::string& path, bool count_devices,
                       Want&& want, OnName&& on_name)
{
    RecentTier tier;
    for_each_unmoved(db, view, path, [&](BatchDecoder& batch) {
        std::int64_t id;
        std::string_view name;
        while (batch.next_device(id, name)) {
            on_name(id, name);
            tier.device_names.emplace(id, std::string(name));
        }
        while (batch.next_metric(id, name))
            tier.metric_names.emplace(id, std::string(name));
        std::int64_t device;
        std::int64_t ts;
        std::size_t n;
        while (batch.next_sample(device, ts, n)) {
            if (count_devices)
                tier.deltas[device].add(ts);
            tier.reading_count += n;
            for (std::size_t i = 0; i < n; ++i) {
                RecentReading r{device, 0, ts, 0};
                batch.next_reading(r.metric, r.value);
                if (want(r.device, r.metric, r.ts))
                    tier.readings.push_back(r);
            }
        }
    });
    return tier;
}

std::optional<std::int64_t> lookup_id(sqlite3* db, const char* sql, const std::string& name,
                                      const std::string& path)
{
    Stmt st = prepare(db, sql, path);
    st.bind(1, name);
    const int rc = st.step();
    if (rc == SQLITE_ROW)
        return st.int64(0);
    if (rc != SQLITE_DONE)
        throw StoreError(describe(db, "cannot look up " + name, path));
    return std::nullopt;
}

/// Metric names by id: the main file's, loaded as asked for, then the recent file's new ones.
class MetricNames {
public:
    MetricNames(sqlite3* db, const std::string& path, const RecentTier& tier)
        : db_(db)
        , path_(path)
        , tier_(tier)
        , select_(prepare(db, "SELECT name FROM metrics WHERE id = ?1", path))
    {}
    const std::string& operator()(std::int64_t id)
    {
        if (auto it = names_.find(id); it != names_.end())
            return it->second;
        std::string name;
        select_.bind(1, id);
        const int rc = select_.step();
        if (rc == SQLITE_ROW) {
            name = std::string(select_.text(0));
        } else if (rc == SQLITE_DONE) {
            const auto r = tier_.metric_names.find(id);
            name = r != tier_.metric_names.end() ? r->second : "metric-" + std::to_string(id);
        } else {
            select_.reset();
            throw StoreError(describe(db_, "cannot read the metric names", path_));
        }
        select_.reset();
        return names_.emplace(id, std::move(name)).first->second;
    }
    void remember(std::int64_t id, std::string name) { names_.emplace(id, std::move(name)); }

private:
    sqlite3* db_;
    const std::string& path_;
    const RecentTier& tier_;
    Stmt select_;
    std::unordered_map<std::int64_t, std::string> names_;
};

std::string in_list(const std::vector<std::int64_t>& ids)
{
    std::string out = "(";
    for (const std::int64_t id : ids)
        out += (out.size() > 1 ? "," : "") + std::to_string(id);
    return out + ")";
}

} // namespace

/// A pooled connection, given back on destruction.
class SqliteReader::Lease {
public:
    explicit Lease(const SqliteReader& reader)
        : reader_(reader)
        , db_(reader.lease())
    {}
    ~Lease() { reader_.give_back(std::move(db_)); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    sqlite3* get() const { return db_.get(); }

private:
    const SqliteReader& reader_;
    Db db_;
};

SqliteReader::SqliteReader(std::string path, bool with_recent, std::string location, std::string temp_copy,
                           int schema_on_disk, Millis busy_timeout)
    : path_(std::move(path))
    , with_recent_(with_recent)
    , location_(location.empty() ? path_ : std::move(location))
    , temp_copy_(std::move(temp_copy))
    , schema_on_disk_(schema_on_disk == 0 ? kSchemaVersion : schema_on_disk)
    , busy_timeout_(busy_timeout)
{
    // The first connection now, so that a file that cannot be read fails here rather than at the first read.
    give_back(lease());
}

SqliteReader::~SqliteReader()
{
    idle_.clear();
    if (!temp_copy_.empty()) {
        std::error_code ec;
        std::filesystem::remove(temp_copy_, ec);
        std::filesystem::remove(temp_copy_ + "-journal", ec);
    }
}

Db SqliteReader::connect() const
{
    // Read-only, and each file through its own WAL: a reader never takes a lock a writer waits for.
    Db db = open(file_uri(path_, "ro"), SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, busy_timeout_);
    exec(db.get(), ("PRAGMA cache_size = -" + std::to_string(kCacheKiB)).c_str());
    if (with_recent_) {
        Stmt attach = prepare(db.get(), "ATTACH DATABASE ?1 AS recent_file", location_);
        const std::string uri = file_uri(recent_path(path_), "ro");
        attach.bind(1, uri);
        if (attach.step() != SQLITE_DONE)
            throw StoreError(describe(db.get(), "cannot open the recent file of", location_));
    }
    return db;
}

Db SqliteReader::lease() const
{
    {
        std::unique_lock lock(mutex_);
        cv_.wait(lock, [&] { return !idle_.empty() || open_ < kPoolConnections; });
        if (!idle_.empty()) {
            Db db = std::move(idle_.back());
            idle_.pop_back();
            return db;
        }
        ++open_;
    }
    try {
        return connect();
    } catch (...) {
        std::lock_guard lock(mutex_);
        --open_;
        cv_.notify_one();
        throw;
    }
}

void SqliteReader::give_back(Db db) const
{
    std::lock_guard lock(mutex_);
    idle_.push_back(std::move(db));
    cv_.notify_one();
}

std::vector<DeviceRow> SqliteReader::devices() const
{
    Lease lease(*this);
    sqlite3* db = lease.get();
    View view(db, with_recent_, location_);
    std::unordered_map<std::int64_t, DeviceRow> rows;
    {
        Stmt q = prepare(db, "SELECT id, name, first_seen, last_seen, samples FROM devices", location_);
        int rc;
        while ((rc = q.step()) == SQLITE_ROW)
            rows.emplace(q.int64(0), DeviceRow{std::string(q.text(1)), q.int64(2), q.int64(3), q.int64(4)});
        if (rc != SQLITE_DONE)
            throw StoreError(describe(db, "cannot read devices", location_));
    }
    const RecentTier tier = read_recent(
        db, view, location_, true, [](auto, auto, auto) { return false; }, [](auto, auto) {});
    for (const auto& [id, name] : tier.device_names)
        rows.emplace(id, DeviceRow{name, kMaxTime, kMinTime, 0});
    for (const auto& [id, d] : tier.deltas) {
        const auto it = rows.find(id);
        if (it == rows.end())
            continue; // a batch that names a device it never introduced: nothing to show it under
        DeviceRow& row = it->second;
        row.first_seen = row.samples == 0 ? d.first : std::min(row.first_seen, d.first);
        row.last_seen = row.samples == 0 ? d.last : std::max(row.last_seen, d.last);
        row.samples += d.samples;
    }
    std::vector<DeviceRow> out;
    out.reserve(rows.size());
    for (auto& [id, row] : rows) {
        if (row.samples == 0 && row.first_seen > row.last_seen)
            row.first_seen = row.last_seen = 0;
        out.push_back(std::move(row));
    }
    std::sort(out.begin(), out.end(),
              [](const DeviceRow& a, const DeviceRow& b) { return a.device < b.device; });
    return out;
}

std::vector<std::string> SqliteReader::metric_names() const
{
    Lease lease(*this);
    sqlite3* db = lease.get();
    View view(db, with_recent_, location_);
    std::vector<std::string> out;
    Stmt q = prepare(db, "SELECT name FROM metrics", location_);
    while (q.step() == SQLITE_ROW)
        out.emplace_back(q.text(0));
    const RecentTier tier = read_recent(
        db, view, location_, false, [](auto, auto, auto) { return false; }, [](auto, auto) {});
    for (const auto& [id, name] : tier.metric_names)
        out.push_back(name);
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

std::vector<SampleRow> SqliteReader::samples(const SampleQuery& q) const
{
    std::vector<SampleRow> out;
    if (q.limit == 0)
        return out;
    const std::int64_t from = q.from.value_or(kMinTime);
    const std::int64_t to = q.to.value_or(kMaxTime);
    if (from > to)
        return out;
    Lease lease(*this);
    sqlite3* db = lease.get();
    View view(db, with_recent_, location_);

    const auto stored_device = lookup_id(db, "SELECT id FROM devices WHERE name = ?1", q.device, location_);
    std::optional<std::int64_t> stored_metric;
    if (!q.metric.empty())
        stored_metric = lookup_id(db, "SELECT id FROM metrics WHERE name = ?1", q.metric, location_);
    std::optional<std::int64_t> device = stored_device;
    std::optional<std::int64_t> metric = stored_metric;
    // A device or metric the main file does not know yet is introduced by the batch that first holds it, so
    // its id is known before any reading of it is decoded.
    RecentTier tier;
    for_each_unmoved(db, view, location_, [&](BatchDecoder& batch) {
        std::int64_t id;
        std::string_view name;
        while (batch.next_device(id, name)) {
            if (!device && name == q.device)
                device = id;
        }
        while (batch.next_metric(id, name)) {
            tier.metric_names.emplace(id, std::string(name));
            if (!q.metric.empty() && !metric && name == q.metric)
                metric = id;
        }
        std::int64_t d;
        std::int64_t ts;
        std::size_t n;
        while (batch.next_sample(d, ts, n)) {
            if (!device || d != *device || ts < from || ts > to)
                continue;
            for (std::size_t i = 0; i < n; ++i) {
                RecentReading r{d, 0, ts, 0};
                batch.next_reading(r.metric, r.value);
                if (q.metric.empty() || (metric && r.metric == *metric))
                    tier.readings.push_back(r);
            }
        }
    });
    if (!device || (!q.metric.empty() && !metric))
        return out;

    MetricNames names(db, location_, tier);
    // One ordered source per stored series, plus the recent readings; merged by (ts, metric name), or the
    // reverse for the latest readings.
    struct Source {
        std::unique_ptr<SeriesCursor> series; // a stored series; empty for the recent readings
        const std::string* metric = nullptr;
        std::size_t next_recent = 0;
        std::int64_t ts = 0;
        double value = 0;
    };
    std::vector<Source> sources;
    if (stored_device) {
        std::vector<std::pair<std::int64_t, std::string>> series;
        if (!q.metric.empty()) {
            if (stored_metric)
                series.emplace_back(*stored_metric, q.metric);
        } else {
            Stmt st = prepare(db, kDeviceMetrics, location_);
            st.bind(1, *stored_device);
            int rc;
            while ((rc = st.step()) == SQLITE_ROW)
                series.emplace_back(st.int64(0), std::string(st.text(1)));
            if (rc != SQLITE_DONE)
                throw StoreError(describe(db, "cannot list the metrics of " + q.device, location_));
        }
        for (auto& [id, name] : series) {
            names.remember(id, name);
            Source s;
            s.series = std::make_unique<SeriesCursor>(db, location_, *stored_device, id, from, to, q.latest);
            s.metric = &names(id);
            sources.push_back(std::move(s));
        }
    }
    // Recent readings sorted like the series: by ts, then metric name, then commit order.
    std::vector<std::pair<const std::string*, std::size_t>> recent;
    recent.reserve(tier.readings.size());
    for (std::size_t i = 0; i < tier.readings.size(); ++i)
        recent.emplace_back(&names(tier.readings[i].metric), i);
    std::sort(recent.begin(), recent.end(), [&](const auto& a, const auto& b) {
        const auto& x = tier.readings[a.second];
        const auto& y = tier.readings[b.second];
        return std::tie(x.ts, *a.first, a.second) < std::tie(y.ts, *b.first, b.second);
    });
    if (q.latest)
        std::reverse(recent.begin(), recent.end());
    sources.emplace_back();
    const std::size_t recent_source = sources.size() - 1;

    auto advance = [&](std::size_t i) {
        Source& s = sources[i];
        if (i == recent_source) {
            if (s.next_recent == recent.size())
                return false;
            const auto& [metric, index] = recent[s.next_recent++];
            s.metric = metric;
            s.ts = tier.readings[index].ts;
            s.value = tier.readings[index].value;
            return true;
        }
        return s.series->next(s.ts, s.value);
    };
    // The heap's top is the source whose reading comes next: the earliest (ts, metric) in time order, the
    // latest in reverse.
    auto after = [&](std::size_t a, std::size_t b) {
        const Source& x = sources[a];
        const Source& y = sources[b];
        const bool earlier = std::tie(x.ts, *x.metric, a) < std::tie(y.ts, *y.metric, b);
        return q.latest ? earlier : !earlier;
    };
    std::priority_queue<std::size_t, std::vector<std::size_t>, decltype(after)> heap(after);
    for (std::size_t i = 0; i < sources.size(); ++i) {
        if (advance(i))
            heap.push(i);
    }
    out.reserve(std::min<std::size_t>(q.limit, 4096));
    while (!heap.empty() && out.size() < q.limit) {
        const std::size_t i = heap.top();
        heap.pop();
        const Source& s = sources[i];
        out.push_back(SampleRow{s.ts, *s.metric, s.value});
        if (advance(i))
            heap.push(i);
    }
    if (q.latest)
        std::reverse(out.begin(), out.end());
    return out;
}

Summary SqliteReader::summary() const
{
    Summary s;
    const auto rows = devices();
    s.devices = rows.size();
    for (const DeviceRow& d : rows) {
        if (d.samples == 0)
            continue;
        s.first_ts = std::min(s.first_ts.value_or(kMaxTime), d.first_seen);
        s.last_ts = std::max(s.last_ts.value_or(kMinTime), d.last_seen);
    }
    Lease lease(*this);
    sqlite3* db = lease.get();
    View view(db, with_recent_, location_);
    const RecentTier tier = read_recent(
        db, view, location_, false, [](auto, auto, auto) { return false; }, [](auto, auto) {});
    s.readings = static_cast<std::uint64_t>(
                     query_int(db, "SELECT coalesce(sum(readings), 0) FROM chunks", location_)) +
                 tier.reading_count;
    if (s.readings == 0) {
        s.first_ts.reset();
        s.last_ts.reset();
    }
    return s;
}

std::vector<SessionRow> SqliteReader::sessions() const
{
    Lease lease(*this);
    sqlite3* db = lease.get();
    Stmt q = prepare(db,
                     "SELECT id, started_at, ended_at, coalesce(end_reason, ''), app_version, settings"
                     " FROM sessions ORDER BY id",
                     location_);
    std::vector<SessionRow> out;
    int rc;
    while ((rc = q.step()) == SQLITE_ROW)
        out.push_back(SessionRow{q.int64(0), q.int64(1), q.optional_int64(2), std::string(q.text(3)),
                                 std::string(q.text(4)), std::string(q.text(5))});
    if (rc != SQLITE_DONE)
        throw StoreError(describe(db, "cannot read sessions", location_));
    return out;
}

std::vector<MarkRow> SqliteReader::marks() const
{
    Lease lease(*this);
    sqlite3* db = lease.get();
    Stmt st = prepare(db, "SELECT id, session_id, label, from_ts, to_ts FROM marks ORDER BY from_ts, id",
                      location_);
    std::vector<MarkRow> out;
    int rc;
    while ((rc = st.step()) == SQLITE_ROW)
        out.push_back(MarkRow{st.int64(0), st.int64(1), std::string(st.text(2)), st.int64(3), st.int64(4)});
    if (rc != SQLITE_DONE)
        throw StoreError(describe(db, "cannot read the marks", location_));
    return out;
}

void SqliteReader::timeline(const TimelineQuery& q, const std::function<void(const TimelineRow&)>& row) const
{
    Lease lease(*this);
    sqlite3* db = lease.get();
    // Keyset chunks in primary-key order, each statement its own short read, so that a long timeline never
    // holds one snapshot (and the WAL frames it pins) for the whole read.
    std::string sql = "SELECT session_id, series, ts, value FROM timeline WHERE ts >= ?1 AND ts <= ?2"
                      " AND (?3 IS NULL OR series = ?3) AND (session_id, series, ts) > (?4, ?5, ?6)";
    if (!q.sessions.empty())
        sql += " AND session_id IN " + in_list(q.sessions);
    sql += " ORDER BY session_id, series, ts LIMIT " + std::to_string(kTimelineChunk);
    Stmt st = prepare(db, sql, location_);
    TimelineRow key{std::string(), kMinTime, 0, kMinTime};
    for (;;) {
        st.bind(1, q.from);
        st.bind(2, q.to);
        if (q.series.empty())
            st.bind_null(3);
        else
            st.bind(3, q.series);
        st.bind(4, key.session_id);
        st.bind(5, key.series);
        st.bind(6, key.ts);
        std::int64_t n = 0;
        int rc;
        TimelineRow r;
        while ((rc = st.step()) == SQLITE_ROW) {
            r.session_id = st.int64(0);
            r.series = std::string(st.text(1));
            r.ts = st.int64(2);
            r.value = st.real(3);
            row(r);
            ++n;
        }
        st.reset();
        if (rc != SQLITE_DONE)
            throw StoreError(describe(db, "cannot read the timeline", location_));
        if (n < kTimelineChunk)
            return;
        key = std::move(r);
    }
}

std::vector<std::string> SqliteReader::timeline_series() const
{
    Lease lease(*this);
    sqlite3* db = lease.get();
    Stmt st = prepare(db, "SELECT DISTINCT series FROM timeline ORDER BY series", location_);
    std::vector<std::string> out;
    int rc;
    while ((rc = st.step()) == SQLITE_ROW)
        out.emplace_back(st.text(0));
    if (rc != SQLITE_DONE)
        throw StoreError(describe(db, "cannot read the timeline series", location_));
    return out;
}

std::vector<AlertRow> SqliteReader::alerts(const AlertQuery& q) const
{
    Lease lease(*this);
    sqlite3* db = lease.get();
    std::string sql =
        "SELECT id, session_id, rule, subject, severity, raised_at, cleared_at, acked_at, message"
        " FROM alerts WHERE raised_at <= ?2 AND coalesce(cleared_at, raised_at) >= ?1";
    if (!q.sessions.empty())
        sql += " AND session_id IN " + in_list(q.sessions);
    sql += " ORDER BY id";
    Stmt st = prepare(db, sql, location_);
    st.bind(1, q.from);
    st.bind(2, q.to);
    std::vector<AlertRow> out;
    int rc;
    while ((rc = st.step()) == SQLITE_ROW)
        out.push_back(AlertRow{st.int64(0), st.int64(1), std::string(st.text(2)), std::string(st.text(3)),
                               std::string(st.text(4)), st.int64(5), st.optional_int64(6),
                               st.optional_int64(7), std::string(st.text(8))});
    if (rc != SQLITE_DONE)
        throw StoreError(describe(db, "cannot read the alerts", location_));
    return out;
}

std::vector<std::pair<std::string, std::string>> SqliteReader::meta() const
{
    Lease lease(*this);
    sqlite3* db = lease.get();
    Stmt st = prepare(db, "SELECT key, value FROM meta ORDER BY key", location_);
    std::vector<std::pair<std::string, std::string>> out;
    int rc;
    while ((rc = st.step()) == SQLITE_ROW)
        out.emplace_back(std::string(st.text(0)), std::string(st.text(1)));
    if (rc != SQLITE_DONE)
        throw StoreError(describe(db, "cannot read the file's meta", location_));
    return out;
}

namespace {

/// The ids of the devices and metrics a ReadingsQuery names, as of one view: the main file's, then those
/// first seen in the recent file.
struct Resolved {
    std::vector<std::optional<std::int64_t>> devices; // by query position
    std::unordered_map<std::int64_t, std::size_t> position;
    std::unordered_set<std::int64_t> metrics; // the selected ones; empty with every metric
    bool every_metric = true;
};

Resolved resolve_main(sqlite3* db, const ReadingsQuery& q, std::size_t first, std::size_t last,
                      const std::string& path)
{
    Resolved r;
    r.devices.resize(last - first);
    Stmt device = prepare(db, "SELECT id FROM devices WHERE name = ?1", path);
    for (std::size_t i = first; i < last; ++i) {
        device.bind(1, q.devices[i]);
        if (device.step() == SQLITE_ROW) {
            r.devices[i - first] = device.int64(0);
            r.position.emplace(device.int64(0), i - first);
        }
        device.reset();
    }
    r.every_metric = q.metrics.empty();
    Stmt metric = prepare(db, "SELECT id FROM metrics WHERE name = ?1", path);
    for (const std::string& name : q.metrics) {
        metric.bind(1, name);
        if (metric.step() == SQLITE_ROW)
            r.metrics.insert(metric.int64(0));
        metric.reset();
    }
    return r;
}

/// The group's readings of the recent file, with the group's device and metric ids completed from it.
RecentTier read_group_recent(sqlite3* db, const View& view, const ReadingsQuery& q, std::size_t first,
                             std::size_t last, Resolved& r, const std::string& path)
{
    std::unordered_map<std::string_view, std::size_t> by_name;
    for (std::size_t i = first; i < last; ++i) {
        if (!r.devices[i - first])
            by_name.emplace(q.devices[i], i - first);
    }
    std::unordered_set<std::string_view> wanted_metrics(q.metrics.begin(), q.metrics.end());
    RecentTier tier;
    for_each_unmoved(db, view, path, [&](BatchDecoder& batch) {
        std::int64_t id;
        std::string_view name;
        while (batch.next_device(id, name)) {
            if (auto it = by_name.find(name); it != by_name.end()) {
                r.devices[it->second] = id;
                r.position.emplace(id, it->second);
            }
        }
        while (batch.next_metric(id, name)) {
            tier.metric_names.emplace(id, std::string(name));
            if (!r.every_metric && wanted_metrics.count(name))
                r.metrics.insert(id);
        }
        std::int64_t device;
        std::int64_t ts;
        std::size_t n;
        while (batch.next_sample(device, ts, n)) {
            if (!r.position.count(device))
                continue;
            tier.deltas[device].add(ts);
            if (ts < q.from || ts > q.to)
                continue;
            for (std::size_t i = 0; i < n; ++i) {
                RecentReading rr{device, 0, ts, 0};
                batch.next_reading(rr.metric, rr.value);
                if (r.every_metric || r.metrics.count(rr.metric))
                    tier.readings.push_back(rr);
            }
        }
    });
    return tier;
}

} // namespace

std::vector<std::uint64_t> SqliteReader::count_readings(const ReadingsQuery& q) const
{
    std::vector<std::uint64_t> out(q.devices.size(), 0);
    Lease lease(*this);
    sqlite3* db = lease.get();
    View view(db, with_recent_, location_);
    Resolved r = resolve_main(db, q, 0, q.devices.size(), location_);
    // Whole chunks: a chunk partly in the range counts whole, which is near enough for progress and never
    // counts a device with readings in the range as having none.
    Stmt per_device = prepare(db,
                              "SELECT coalesce(sum(readings), 0) FROM chunks WHERE device_id = ?1 AND bucket "
                              ">= ?2 AND bucket <= ?3",
                              location_);
    Stmt per_series =
        prepare(db,
                "SELECT coalesce(sum(readings), 0) FROM chunks WHERE device_id = ?1 AND metric_id = ?2"
                " AND bucket >= ?3 AND bucket <= ?4",
                location_);
    for (std::size_t i = 0; i < q.devices.size(); ++i) {
        if (!r.devices[i])
            continue;
        if (r.every_metric) {
            per_device.bind(1, *r.devices[i]);
            per_device.bind(2, bucket_of(q.from));
            per_device.bind(3, bucket_of(q.to));
            if (per_device.step() == SQLITE_ROW)
                out[i] += static_cast<std::uint64_t>(per_device.int64(0));
            per_device.reset();
        } else {
            for (const std::int64_t metric : r.metrics) {
                per_series.bind(1, *r.devices[i]);
                per_series.bind(2, metric);
                per_series.bind(3, bucket_of(q.from));
                per_series.bind(4, bucket_of(q.to));
                if (per_series.step() == SQLITE_ROW)
                    out[i] += static_cast<std::uint64_t>(per_series.int64(0));
                per_series.reset();
            }
        }
    }
    const RecentTier tier = read_group_recent(db, view, q, 0, q.devices.size(), r, location_);
    for (const RecentReading& rr : tier.readings)
        ++out[r.position.at(rr.device)];
    return out;
}

void SqliteReader::read_readings(const ReadingsQuery& q, ReadingVisitor& visitor,
                                 std::uint64_t group_readings) const
{
    const std::vector<std::uint64_t> counts = count_readings(q);
    std::uint64_t total = 0;
    for (const std::uint64_t n : counts)
        total += n;
    visitor.begin(total);
    Lease lease(*this);
    sqlite3* db = lease.get();
    std::size_t first = 0;
    while (first < q.devices.size()) {
        // Whole devices per group, about `group_readings` each (devices with none selected are skipped).
        std::uint64_t rows = 0;
        std::size_t last = first;
        while (last < q.devices.size() && (last == first || rows + counts[last] <= group_readings))
            rows += counts[last++];
        if (rows == 0) {
            first = last;
            continue;
        }
        View view(db, with_recent_, location_);
        Resolved r = resolve_main(db, q, first, last, location_);
        const RecentTier tier = read_group_recent(db, view, q, first, last, r, location_);
        MetricNames names(db, location_, tier);

        // The group's recent readings by (device position, metric name, ts, commit order).
        std::vector<std::pair<const std::string*, std::size_t>> recent;
        recent.reserve(tier.readings.size());
        for (std::size_t i = 0; i < tier.readings.size(); ++i)
            recent.emplace_back(&names(tier.readings[i].metric), i);
        std::sort(recent.begin(), recent.end(), [&](const auto& a, const auto& b) {
            const auto& x = tier.readings[a.second];
            const auto& y = tier.readings[b.second];
            return std::tie(r.position.at(x.device), *a.first, x.ts, a.second) <
                   std::tie(r.position.at(y.device), *b.first, y.ts, b.second);
        });
        auto rit = recent.begin();

        Stmt device_row =
            prepare(db, "SELECT first_seen, last_seen, samples FROM devices WHERE id = ?1", location_);
        Stmt device_metrics = prepare(db, kDeviceMetrics, location_);
        for (std::size_t i = first; i < last; ++i) {
            const auto& id = r.devices[i - first];
            if (counts[i] == 0 || !id)
                continue; // nothing selected when the read began
            DeviceRow row{q.devices[i], kMaxTime, kMinTime, 0};
            device_row.bind(1, *id);
            if (device_row.step() == SQLITE_ROW)
                row = DeviceRow{q.devices[i], device_row.int64(0), device_row.int64(1), device_row.int64(2)};
            device_row.reset();
            if (const auto d = tier.deltas.find(*id); d != tier.deltas.end()) {
                row.first_seen =
                    row.samples == 0 ? d->second.first : std::min(row.first_seen, d->second.first);
                row.last_seen = row.samples == 0 ? d->second.last : std::max(row.last_seen, d->second.last);
                row.samples += d->second.samples;
            }

            // The series to read: those in `samples` (one index seek each) and those only in the recent file,
            // by name.
            std::vector<std::pair<std::string, std::int64_t>> metrics;
            device_metrics.bind(1, *id);
            int rc;
            while ((rc = device_metrics.step()) == SQLITE_ROW) {
                if (r.every_metric || r.metrics.count(device_metrics.int64(0)))
                    metrics.emplace_back(std::string(device_metrics.text(1)), device_metrics.int64(0));
            }
            device_metrics.reset();
            if (rc != SQLITE_DONE)
                throw StoreError(describe(db, "cannot list the metrics of " + q.devices[i], location_));
            // Past the recent readings of devices skipped above.
            while (rit != recent.end() && r.position.at(tier.readings[rit->second].device) < i - first)
                ++rit;
            const auto device_end = std::find_if(
                rit, recent.end(), [&](const auto& e) { return tier.readings[e.second].device != *id; });
            for (auto e = rit; e != device_end; ++e)
                metrics.emplace_back(*e->first, tier.readings[e->second].metric);
            std::sort(metrics.begin(), metrics.end());
            metrics.erase(std::unique(metrics.begin(), metrics.end()), metrics.end());

            bool announced = false;
            auto emit = [&](const std::string& metric, std::int64_t ts, double value) {
                if (!announced) {
                    visitor.device(row);
                    announced = true;
                }
                visitor.reading(metric, ts, value);
            };
            for (const auto& [name, metric] : metrics) {
                // The stored series merged with its recent readings, both in ts order (stored ones first on a
                // tie: they were committed earlier).
                SeriesCursor series(db, location_, *id, metric, q.from, q.to);
                while (rit != device_end && *rit->first < name)
                    ++rit;
                std::int64_t ts = 0;
                double value = 0;
                bool stored = series.next(ts, value);
                for (;;) {
                    const bool fresh = rit != device_end && *rit->first == name;
                    if (!stored && !fresh)
                        break;
                    if (stored && (!fresh || ts <= tier.readings[rit->second].ts)) {
                        emit(name, ts, value);
                        stored = series.next(ts, value);
                    } else {
                        emit(name, tier.readings[rit->second].ts, tier.readings[rit->second].value);
                        ++rit;
                    }
                }
            }
            rit = device_end;
        }
        visitor.group_end();
        first = last;
    }
}

} // namespace fleetscope::store::sqlite
