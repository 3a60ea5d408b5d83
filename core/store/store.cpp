// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/store/store.hpp"

#include "core/store/schema.hpp"
#include "core/store/sqlite.hpp"

#include <boost/json.hpp>
#include <queue>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <iterator>
#include <limits>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#if defined(__linux__)
#include <pthread.h>
#endif

// Schema, version 2 (PRAGMA user_version = 2)
// ------------------------------------------
//   devices(id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL,
//           first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL,   -- ms since epoch, min/max sample ts
//           samples INTEGER NOT NULL)                                  -- telemetry samples received
//   metrics(id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL)
//   samples(device_id INTEGER NOT NULL, metric_id INTEGER NOT NULL, ts INTEGER NOT NULL,
//           seq INTEGER NOT NULL, value REAL NOT NULL,
//           PRIMARY KEY (device_id, metric_id, ts, seq)) WITHOUT ROWID
//   recent(device_id INTEGER NOT NULL, metric_id INTEGER NOT NULL, ts INTEGER NOT NULL, value REAL NOT NULL)
// Version 2 adds what a session capture carries besides telemetry (see kSchemaV2 for the columns):
//   sessions  one row per gateway run: start, end and how it ended, app version, settings as JSON
//   marks     recording spans an engineer marked in the monitor, within a session
//   timeline  the gateway's metric timeline (the overview's series), one row per series per point
//   alerts    alert events: raise, clear, acknowledge
//   meta      key/value facts about the file itself (a capture's format version, filters, origin)
//
// One row per (sample, metric). A device's readings live in two tables:
// - `recent` is append-only (rowid order = commit order). Every group commit appends to it, so a commit
//   dirties only a handful of pages however many devices it touches. An index ordered by device would
//   instead dirty one page per device and metric per commit; each dirty page is one WAL frame, and that
//   made commits ~5x more expensive in measurements here (36k against 160k+ samples per CPU-second,
//   256 devices, 2 metrics).
// - `samples` is clustered by (device, metric, ts): a device's series over a time range is one contiguous
//   range of the b-tree, so queries read only what they return. The writer moves `recent` into it, sorted,
//   in one transaction once `recent` holds kCompactRows rows ("compaction"), and when the store stops.
//   Each series then gains many rows per touched page.
// - `seq` is 0 unless a device sent the same (metric, ts) more than once; repeats get 1, 2, ... so that
//   nothing committed is ever merged away. A zero costs no bytes in SQLite's record format.
// Queries read both tables in one read transaction, so a concurrent compaction never hides or doubles a row.
// Files: WAL journal, synchronous=NORMAL: a commit is durable against a process crash (kill -9) and atomic
// against power loss.

namespace fleetscope::store {

namespace json = boost::json;

namespace {

using Clock = std::chrono::steady_clock;

// Rows held in `recent` before they are moved into `samples`. Larger amortises page writes better (more rows
// per series per touched page) but lengthens the one writer pause that compaction costs and the scan that
// queries do over `recent`.
constexpr std::int64_t kCompactRows = 32'768;
// Rows per series a compaction waits for on average (see recent_series).
constexpr std::int64_t kRowsPerSeries = 8;
// A compaction moves the devices in this many slices (by device id), one slice between two group commits.
// The slice count of a round grows with the rows waiting, so that one slice moves about kRowsPerSlice rows,
// between kMinSlices and kMaxSlices; the trigger is capped at kMaxCompactRows so a slice's scan stays short.
constexpr std::int64_t kMinSlices = 8;
constexpr std::int64_t kMaxSlices = 32;
constexpr std::int64_t kRowsPerSlice = 8'192;
constexpr std::int64_t kMaxCompactRows = 262'144;
constexpr std::size_t kReaders = 4;
constexpr int kWriterCacheKiB = 32 * 1024;
// How often the checkpointer copies the WAL into the database.
constexpr Millis kCheckpointPeriod{250};
// WAL frames (pages) past which the writer catches up on the checkpoint itself, and the WAL file size it
// trims back to when it starts the WAL over: about 32 MiB of 4 KiB pages. A kill -9 makes the next start read
// the whole WAL, and a WAL that never starts over fills the disk.
constexpr int kWalRestartFrames = 8'192;
constexpr int kWalLimitBytes = kWalRestartFrames * 4'096;
constexpr int kReaderCacheKiB = 8 * 1024;

constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE devices(
    id INTEGER PRIMARY KEY,
    name TEXT UNIQUE NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    samples INTEGER NOT NULL DEFAULT 0);
CREATE TABLE metrics(
    id INTEGER PRIMARY KEY,
    name TEXT UNIQUE NOT NULL);
CREATE TABLE samples(
    device_id INTEGER NOT NULL,
    metric_id INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    seq INTEGER NOT NULL DEFAULT 0,
    value REAL NOT NULL,
    PRIMARY KEY (device_id, metric_id, ts, seq)) WITHOUT ROWID;
CREATE TABLE recent(
    device_id INTEGER NOT NULL,
    metric_id INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    value REAL NOT NULL);
)sql";

// Samples carry no session id: a session's telemetry is the samples whose ts falls within its span.
constexpr const char* kSchemaV2 = R"sql(
CREATE TABLE sessions(
    id INTEGER PRIMARY KEY,
    started_at INTEGER NOT NULL,
    ended_at INTEGER,
    end_reason TEXT,
    app_version TEXT NOT NULL,
    settings TEXT NOT NULL);
CREATE TABLE marks(
    id INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions(id),
    label TEXT NOT NULL,
    from_ts INTEGER NOT NULL,
    to_ts INTEGER NOT NULL);
CREATE TABLE timeline(
    session_id INTEGER NOT NULL REFERENCES sessions(id),
    series TEXT NOT NULL,
    ts INTEGER NOT NULL,
    value REAL NOT NULL,
    PRIMARY KEY (session_id, series, ts)) WITHOUT ROWID;
CREATE TABLE alerts(
    id INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions(id),
    rule TEXT NOT NULL,
    subject TEXT NOT NULL,
    severity TEXT NOT NULL,
    raised_at INTEGER NOT NULL,
    cleared_at INTEGER,
    acked_at INTEGER,
    message TEXT NOT NULL);
CREATE TABLE meta(
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL) WITHOUT ROWID;
)sql";

/// One step of the schema history: running `sql` on a database at version `to - 1` brings it to `to`.
/// A later schema version appends a step; existing steps never change.
struct Migration {
    int to;
    const char* sql;
};
constexpr Migration kMigrations[] = {
    {1, kSchemaV1},
    {2, kSchemaV2},
};
static_assert(std::size(kMigrations) == Store::kSchemaVersion);

constexpr const char* kCompactFast = R"sql(
INSERT OR IGNORE INTO samples(device_id, metric_id, ts, seq, value)
SELECT device_id, metric_id, ts, 0, value FROM recent WHERE device_id % ?2 = ?1
ORDER BY device_id, metric_id, ts)sql";

// Used only when the fast form hits a repeated (device, metric, ts): numbers repeats after what is stored.
constexpr const char* kCompactNumbered = R"sql(
INSERT INTO samples(device_id, metric_id, ts, seq, value)
SELECT r.device_id, r.metric_id, r.ts,
       coalesce((SELECT max(s.seq) + 1 FROM samples s
                 WHERE s.device_id = r.device_id AND s.metric_id = r.metric_id AND s.ts = r.ts), 0)
           + row_number() OVER (PARTITION BY r.device_id, r.metric_id, r.ts ORDER BY r.rowid) - 1,
       r.value
FROM recent r WHERE r.device_id % ?2 = ?1 ORDER BY r.device_id, r.metric_id, r.ts, r.rowid)sql";

// The metric ids present in `samples` for one device, one index seek each (a manual skip-scan).
constexpr const char* kDeviceMetrics = R"sql(
WITH RECURSIVE m(id) AS (
    SELECT (SELECT min(metric_id) FROM samples WHERE device_id = ?1)
    UNION ALL
    SELECT (SELECT min(metric_id) FROM samples WHERE device_id = ?1 AND metric_id > m.id) FROM m
    WHERE m.id IS NOT NULL)
SELECT m.id, metrics.name FROM m JOIN metrics ON metrics.id = m.id)sql";

constexpr const char* kSeriesRange = R"sql(
SELECT ts, value FROM samples WHERE device_id = ?1 AND metric_id = ?2 AND ts >= ?3 AND ts <= ?4
ORDER BY ts)sql";

constexpr const char* kRecentRange = R"sql(
SELECT r.ts, m.name, r.value FROM recent r JOIN metrics m ON m.id = r.metric_id
WHERE r.device_id = ?1 AND (?2 IS NULL OR r.metric_id = ?2) AND r.ts >= ?3 AND r.ts <= ?4
ORDER BY r.ts, m.name)sql";

/// Names the calling thread (Linux: 15 characters at most), so that top, perf and bench_store can tell the
/// store's threads apart.
void name_this_thread(const char* name)
{
#if defined(__linux__)
    pthread_setname_np(pthread_self(), name);
#else
    (void)name;
#endif
}

int open_flags(bool read_only)
{
    return (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
           SQLITE_OPEN_NOMUTEX;
}

sql::Db open_db(const std::string& path, bool read_only, Millis busy_timeout)
{
    sqlite3* raw = nullptr;
    const int rc = sqlite3_open_v2(path.c_str(), &raw, open_flags(read_only), nullptr);
    sql::Db db(raw);
    if (rc != SQLITE_OK)
        throw StoreError(sql::describe(raw, "cannot open the database", path));
    sqlite3_extended_result_codes(raw, 1);
    sqlite3_busy_timeout(raw, static_cast<int>(std::min<Millis::rep>(busy_timeout.count(), 1'000'000'000)));
    return db;
}

std::int64_t query_int(sqlite3* db, const char* sql, const std::string& path)
{
    sql::Stmt s = sql::prepare(db, sql, path);
    if (s.step() != SQLITE_ROW)
        throw StoreError(sql::describe(db, std::string("cannot read ") + sql, path));
    return s.int64(0);
}

void set_pragma(sqlite3* db, const std::string& pragma, const std::string& path)
{
    sql::exec_or_throw(db, pragma.c_str(), "cannot set " + pragma, path);
}

/// Brings the database to kSchemaVersion, one transaction per step, or throws.
void migrate(sqlite3* db, const std::string& path)
{
    const auto version = query_int(db, "PRAGMA user_version", path);
    if (version > Store::kSchemaVersion)
        throw StoreError("database " + path + " has schema version " + std::to_string(version) +
                         ", newer than this FleetScope understands (at most " +
                         std::to_string(Store::kSchemaVersion) + "); open it with a newer FleetScope");
    if (version < 0)
        throw StoreError("database " + path + " has an invalid schema version " + std::to_string(version) +
                         " (expected 0 to " + std::to_string(Store::kSchemaVersion) + ")");
    for (const Migration& m : kMigrations) {
        if (m.to <= version)
            continue;
        sql::exec_or_throw(db, "BEGIN IMMEDIATE", "cannot start the schema migration", path);
        const std::string bump = "PRAGMA user_version = " + std::to_string(m.to);
        if (sql::exec(db, m.sql) != SQLITE_OK || sql::exec(db, bump.c_str()) != SQLITE_OK) {
            const std::string msg =
                sql::describe(db, "cannot migrate the schema to version " + std::to_string(m.to), path);
            sql::exec(db, "ROLLBACK");
            throw StoreError(msg);
        }
        sql::exec_or_throw(db, "COMMIT", "cannot commit the schema migration", path);
    }
}

} // namespace

void migrate_schema(sqlite3* db, const std::string& path)
{
    migrate(db, path);
}

namespace {

struct Request {
    std::vector<telemetry::Sample> samples;
    CommitCallback done;
};

/// Per-device totals of one batch, written to `devices` once per batch.
struct DeviceDelta {
    std::int64_t first = std::numeric_limits<std::int64_t>::max();
    std::int64_t last = std::numeric_limits<std::int64_t>::min();
    std::int64_t samples = 0;
};

} // namespace

Options Options::from(const Settings& s)
{
    Options o;
    o.path = s.db_path.empty() ? default_db_path() : s.db_path;
    o.queue_samples = s.store_queue_samples;
    o.max_batch_samples = s.max_batch_samples;
    o.busy_timeout = s.store_busy_timeout;
    o.app_version = FLEETSCOPE_VERSION;
    json::object settings;
    for_each_setting(s, [&settings](const SettingInfo& info, const auto& field) {
        using T = std::decay_t<decltype(field)>;
        if constexpr (std::is_same_v<T, Millis>)
            settings[info.name] = field.count();
        else
            settings[info.name] = field;
    });
    o.settings_json = json::serialize(settings);
    o.max_bytes = s.store_max_bytes;
    return o;
}

/// Shared state. The queue is reached by producers under `queue_mutex_`; everything under "writer thread
/// only" belongs to the writer thread (and to the constructor before it starts); readers are leased under
/// `readers_mutex_`; stats are atomics written by the writer.
struct Store::Impl {
    explicit Impl(Options o)
        : options(std::move(o))
    {}

    Options options;

    // Queue.
    std::mutex queue_mutex;
    std::condition_variable queue_cv;
    std::deque<Request> queue;
    std::size_t queued_samples = 0;
    std::deque<WriteJob> jobs;
    bool stopping = false;
    bool writer_waiting = false;
    CommitObserver observer;

    // Stats.
    std::atomic<std::size_t> stat_queue{0};
    std::atomic<std::uint64_t> stat_batches{0};
    std::atomic<std::uint64_t> stat_samples{0};
    std::atomic<std::uint64_t> stat_requests{0};
    std::atomic<std::uint64_t> stat_rejected{0};
    std::atomic<std::uint64_t> stat_failed{0};
    std::atomic<std::uint32_t> stat_last_batch{0};
    std::atomic<std::uint32_t> stat_last_commit_us{0};
    metrics::Histogram commit_latency; // recorded by the writer, read by stats()

    // Writer thread only.
    sql::Db db;
    sql::Stmt begin, commit, rollback;
    sql::Stmt insert_recent;
    sql::Stmt insert_device, select_device, update_device;
    sql::Stmt insert_metric, select_metric;
    sql::Stmt compact_fast, compact_numbered, clear_recent;
    sql::Stmt insert_timeline; // prepared by the first timeline job (Store::add_timeline)
    std::unordered_map<std::string, std::int64_t> device_ids;
    std::unordered_map<std::string, std::int64_t> metric_ids;
    std::unordered_map<std::int64_t, DeviceDelta> batch_devices;
    std::vector<Request> batch;
    std::vector<WriteJob> batch_jobs;
    std::int64_t session = 0; // written once by open(), read by session_id()
    std::int64_t recent_rows = 0;
    std::int64_t compact_at = kCompactRows;
    // The (device, metric) series with rows in `recent`: a compaction waits until they average
    // kRowsPerSeries rows, so that a large fleet does not turn it into one page write per row.
    std::unordered_set<std::uint64_t> recent_series;
    std::int64_t next_slice = -1;     // the slice a compaction in progress moves next; -1: none in progress
    std::int64_t slices = kMinSlices; // of the compaction in progress

    // Readers.
    mutable std::mutex readers_mutex;
    mutable std::condition_variable readers_cv;
    mutable std::vector<sql::Db> idle_readers;
    mutable std::size_t open_readers = 0;

    std::mutex stop_mutex;
    std::thread writer;

    // The checkpointer: copies the WAL back into the database on its own connection, so that the fsyncs a
    // checkpoint costs never stall a group commit (the writer runs with wal_autocheckpoint = 0).
    std::thread checkpointer;
    std::mutex checkpoint_mutex;
    std::condition_variable checkpoint_cv;
    bool checkpoint_stop = false; // guarded by checkpoint_mutex
    void run_checkpointer();

    void open();
    void begin_session();
    void end_session();
    void run_jobs();
    void run();
    /// One transaction for `batch`: SQLITE_OK once committed, else the primary result code of the first
    /// failure, after a rollback.
    int write_batch();
    // The outcome of the last batch, for logging transitions only (writer thread).
    int last_batch_rc = SQLITE_OK;
    std::uint64_t failed_in_a_row = 0;
    void log_transition(int rc);
    std::int64_t device_id(const std::string& name, std::int64_t ts);
    std::int64_t metric_id(const std::string& name);
    std::int64_t resolve(std::unordered_map<std::string, std::int64_t>& cache, const std::string& name,
                         sql::Stmt& insert, sql::Stmt& select);
    bool ok(int rc) const { return rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW; }
    int wal_frames = 0; // after the last commit, from the WAL hook
    void catch_up_checkpoint();
    bool compact_slice(std::int64_t slice);
    void compact_step();
    void compact_all();

    sql::Db lease_reader() const;
    void return_reader(sql::Db db) const;
};

void Store::Impl::open()
{
    const std::string& path = options.path;
    if (path.empty())
        throw StoreError("database path is empty (expected a file path)");
    const std::filesystem::path parent = std::filesystem::path(path).parent_path();
    if (!parent.empty()) {
        std::error_code ec;
        std::filesystem::create_directories(parent, ec);
        if (ec)
            throw StoreError("cannot create the database folder " + parent.string() + ": " + ec.message());
    }
    db = open_db(path, false, options.busy_timeout);
    sqlite3* h = db.get();
    // Checked first: a file that is not a database fails here with SQLite's "file is not a database".
    const auto version = query_int(h, "PRAGMA user_version", path);
    if (version == 0)
        set_pragma(h, "PRAGMA page_size = 4096", path); // effective only before the first table exists
    {
        sql::Stmt wal = sql::prepare(h, "PRAGMA journal_mode = WAL", path);
        if (wal.step() != SQLITE_ROW || wal.text(0) != "wal")
            throw StoreError(sql::describe(h, "cannot switch the database to WAL journal mode", path));
    }
    set_pragma(h, "PRAGMA synchronous = NORMAL", path);
    set_pragma(h, "PRAGMA temp_store = MEMORY", path);
    set_pragma(h, "PRAGMA cache_size = -" + std::to_string(kWriterCacheKiB), path);
    set_pragma(h, "PRAGMA wal_autocheckpoint = 0", path); // the checkpointer thread does it
    set_pragma(h, "PRAGMA journal_size_limit = " + std::to_string(kWalLimitBytes), path);
    // After each commit: the WAL's length in frames (wal_autocheckpoint = 0 left the hook free).
    sqlite3_wal_hook(
        h,
        [](void* impl, sqlite3*, const char*, int frames) {
            static_cast<Impl*>(impl)->wal_frames = frames;
            return SQLITE_OK;
        },
        this);
    migrate(h, path);
    if (options.max_bytes != 0) {
        // A quota on the database file, enforced by SQLite on this (the only writing) connection: a page
        // beyond it fails the statement with SQLITE_FULL, exactly as a full disk does, and the batch rolls
        // back. SQLite never sets it below the pages in use, so an existing larger file stays readable and
        // its free pages are still reused.
        const auto page = query_int(h, "PRAGMA page_size", path);
        const auto pages = std::max<std::uint64_t>(1, options.max_bytes / static_cast<std::uint64_t>(page));
        set_pragma(h, "PRAGMA max_page_count = " + std::to_string(pages), path);
    }

    begin = sql::prepare(h, "BEGIN IMMEDIATE", path, true);
    commit = sql::prepare(h, "COMMIT", path, true);
    rollback = sql::prepare(h, "ROLLBACK", path, true);
    insert_recent = sql::prepare(
        h, "INSERT INTO recent(device_id, metric_id, ts, value) VALUES (?1, ?2, ?3, ?4)", path, true);
    insert_device = sql::prepare(
        h, "INSERT OR IGNORE INTO devices(name, first_seen, last_seen, samples) VALUES (?1, ?2, ?2, 0)", path,
        true);
    select_device = sql::prepare(h, "SELECT id FROM devices WHERE name = ?1", path, true);
    update_device =
        sql::prepare(h,
                     "UPDATE devices SET first_seen = min(first_seen, ?2), last_seen = max(last_seen, ?3),"
                     " samples = samples + ?4 WHERE id = ?1",
                     path, true);
    insert_metric = sql::prepare(h, "INSERT OR IGNORE INTO metrics(name) VALUES (?1)", path, true);
    select_metric = sql::prepare(h, "SELECT id FROM metrics WHERE name = ?1", path, true);
    compact_fast = sql::prepare(h, kCompactFast, path, true);
    compact_numbered = sql::prepare(h, kCompactNumbered, path, true);
    clear_recent = sql::prepare(h, "DELETE FROM recent WHERE device_id % ?2 = ?1", path, true);
    recent_rows = query_int(h, "SELECT count(*) FROM recent", path);
    if (!options.app_version.empty()) {
        // Telemetry matters more than the session record: a database that is full or locked right now still
        // opens, and the run goes unrecorded (session 0) with a line saying why.
        try {
            begin_session();
        } catch (const StoreError& e) {
            if (sqlite3_get_autocommit(h) == 0)
                sql::exec(h, "ROLLBACK");
            session = 0;
            std::fprintf(stderr, "fleetscope: this run is not recorded as a session: %s\n", e.what());
        }
    }
}

std::int64_t wall_clock_ms()
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

void Store::Impl::begin_session()
{
    // A session still open here ended without stop(): a crash or a kill. Its end is the last thing it is
    // known to have recorded.
    const std::string& path = options.path;
    sql::exec_or_throw(db.get(), "BEGIN IMMEDIATE", "cannot start recording the session", path);
    sql::exec_or_throw(db.get(),
                       "UPDATE sessions SET end_reason = 'crash', ended_at = max(started_at, coalesce("
                       "(SELECT max(ts) FROM timeline WHERE session_id = sessions.id), started_at))"
                       " WHERE ended_at IS NULL",
                       "cannot close the sessions a crash left open", path);
    sql::Stmt insert = sql::prepare(
        db.get(), "INSERT INTO sessions(started_at, app_version, settings) VALUES (?1, ?2, ?3)", path);
    insert.bind(1, wall_clock_ms());
    insert.bind(2, options.app_version);
    insert.bind(3, options.settings_json);
    if (insert.step() != SQLITE_DONE)
        throw StoreError(sql::describe(db.get(), "cannot record the session", path));
    session = sqlite3_last_insert_rowid(db.get());
    sql::exec_or_throw(db.get(), "COMMIT", "cannot commit the session record", path);
}

void Store::Impl::end_session()
{
    if (session == 0)
        return;
    sql::Stmt end = sql::prepare(
        db.get(), "UPDATE sessions SET ended_at = ?2, end_reason = 'stop' WHERE id = ?1", options.path);
    end.bind(1, session);
    end.bind(2, wall_clock_ms());
    if (end.step() != SQLITE_DONE)
        std::fprintf(stderr, "fleetscope: %s\n",
                     sql::describe(db.get(), "cannot record the session's end", options.path).c_str());
}

void Store::Impl::run_jobs()
{
    // One transaction per job: a job that fails rolls back alone.
    for (WriteJob& job : batch_jobs) {
        if (!ok(begin.step())) {
            begin.reset();
            continue;
        }
        begin.reset();
        const bool good = job(db.get());
        sql::Stmt& end = good ? commit : rollback;
        if (!ok(end.step()) && sqlite3_get_autocommit(db.get()) == 0) {
            rollback.step();
            rollback.reset();
        }
        end.reset();
    }
    batch_jobs.clear();
}

std::int64_t Store::Impl::device_id(const std::string& name, std::int64_t ts)
{
    if (auto it = device_ids.find(name); it != device_ids.end())
        return it->second;
    insert_device.bind(2, ts);
    return resolve(device_ids, name, insert_device, select_device);
}

std::int64_t Store::Impl::metric_id(const std::string& name)
{
    if (auto it = metric_ids.find(name); it != metric_ids.end())
        return it->second;
    return resolve(metric_ids, name, insert_metric, select_metric);
}

// A cache miss: insert-or-ignore, then read the id back (the row may predate this process). -1 on an SQLite
// error.
std::int64_t Store::Impl::resolve(std::unordered_map<std::string, std::int64_t>& cache,
                                  const std::string& name, sql::Stmt& insert, sql::Stmt& select)
{
    insert.bind(1, name);
    const int rc = insert.step();
    insert.reset();
    if (!ok(rc))
        return -1;
    select.bind(1, name);
    std::int64_t id = -1;
    if (select.step() == SQLITE_ROW)
        id = select.int64(0);
    select.reset();
    if (id >= 0)
        cache.emplace(name, id);
    return id;
}

int Store::Impl::write_batch()
{
    if (const int rc = begin.step(); !ok(rc)) {
        begin.reset();
        return rc & 0xff;
    }
    begin.reset();
    batch_devices.clear();
    std::int64_t rows = 0;
    bool good = true;
    for (const Request& r : batch) {
        for (const telemetry::Sample& s : r.samples) {
            const std::int64_t device = device_id(s.device, s.ts_ms);
            if (device < 0) {
                good = false;
                break;
            }
            DeviceDelta& d = batch_devices[device];
            d.first = std::min(d.first, s.ts_ms);
            d.last = std::max(d.last, s.ts_ms);
            ++d.samples;
            for (const telemetry::Metric& m : s.metrics) {
                const std::int64_t metric = metric_id(m.name);
                if (metric < 0) {
                    good = false;
                    break;
                }
                insert_recent.bind(1, device);
                insert_recent.bind(2, metric);
                recent_series.insert(static_cast<std::uint64_t>(device) << 32 |
                                     static_cast<std::uint64_t>(metric));
                insert_recent.bind(3, s.ts_ms);
                insert_recent.bind(4, m.value);
                const int rc = insert_recent.step();
                insert_recent.reset();
                if (!ok(rc)) {
                    good = false;
                    break;
                }
                ++rows;
            }
            if (!good)
                break;
        }
        if (!good)
            break;
    }
    for (auto it = batch_devices.begin(); good && it != batch_devices.end(); ++it) {
        update_device.bind(1, it->first);
        update_device.bind(2, it->second.first);
        update_device.bind(3, it->second.last);
        update_device.bind(4, it->second.samples);
        good = ok(update_device.step());
        update_device.reset();
    }
    if (good) {
        good = ok(commit.step());
        commit.reset();
    }
    if (!good) {
        // The failing call was the last one on this connection (a step, or the reset after it).
        const int rc = sqlite3_errcode(db.get());
        // SQLite may already have rolled back (it does on some SQLITE_FULL and I/O errors); a COMMIT that
        // failed with SQLITE_BUSY leaves the transaction open.
        if (sqlite3_get_autocommit(db.get()) == 0) {
            rollback.step();
            rollback.reset();
        }
        // Ids inserted by the rolled-back transaction no longer exist; the caches refill on the next misses.
        device_ids.clear();
        metric_ids.clear();
        return ok(rc) ? SQLITE_ERROR : rc & 0xff;
    }
    recent_rows += rows;
    return SQLITE_OK;
}

bool Store::Impl::compact_slice(std::int64_t slice)
{
    // OR IGNORE spares SQLite a statement journal; a repeated (device, metric, ts) shows as fewer rows moved
    // than deleted, and then the numbered form redoes the slice in a fresh transaction. Any SQLite error
    // (a full database, another process's lock) ends the attempt at once: the numbered form would only wait
    // out the busy timeout a second time.
    for (sql::Stmt* move : {&compact_fast, &compact_numbered}) {
        bool repeated = false;
        bool good = ok(begin.step());
        begin.reset();
        std::int64_t moved = 0;
        if (good) {
            move->bind(1, slice);
            move->bind(2, slices);
            good = ok(move->step());
            moved = sqlite3_changes64(db.get());
            move->reset();
        }
        if (good) {
            clear_recent.bind(1, slice);
            clear_recent.bind(2, slices);
            good = ok(clear_recent.step());
            repeated = good && move == &compact_fast && sqlite3_changes64(db.get()) != moved;
            good = good && !repeated;
            clear_recent.reset();
        }
        if (good) {
            good = ok(commit.step());
            commit.reset();
        }
        if (good) {
            recent_rows -= moved;
            return true;
        }
        if (sqlite3_get_autocommit(db.get()) == 0) {
            rollback.step();
            rollback.reset();
        }
        if (!repeated)
            return false;
    }
    return false;
}

void Store::Impl::compact_step()
{
    // One slice of the devices per call, between group commits: each slice still moves every row its series
    // gathered (the amortisation), while a commit waits for one slice at most, not for the whole move.
    if (next_slice < 0) {
        const std::int64_t wanted = std::min(kMaxCompactRows, kRowsPerSeries * std::ssize(recent_series));
        if (recent_rows < std::max(compact_at, wanted))
            return;
        slices = std::clamp(recent_rows / kRowsPerSlice, kMinSlices, kMaxSlices);
        recent_series.clear(); // rows arriving from here on gather toward the next compaction
        next_slice = 0;
    }
    if (!compact_slice(next_slice)) {
        // The rows stay in `recent`, where queries find them; try again after as many rows again.
        next_slice = -1;
        compact_at = recent_rows + kCompactRows;
        return;
    }
    if (++next_slice == slices) {
        next_slice = -1;
        compact_at = kCompactRows;
    }
}

void Store::Impl::compact_all()
{
    slices = kMinSlices;
    // Stops at the first failure: the rows stay in `recent`, where the next start finds them, and a stop
    // under another process's lock waits out the busy timeout once rather than once per slice.
    for (std::int64_t slice = 0; slice < slices && recent_rows > 0; ++slice) {
        if (!compact_slice(slice))
            break;
    }
    next_slice = -1;
}

void Store::Impl::run()
{
    name_this_thread("store-writer");
    for (;;) {
        batch.clear();
        {
            std::unique_lock lock(queue_mutex);
            while (queue.empty() && jobs.empty() && !stopping) {
                writer_waiting = true;
                queue_cv.wait(lock);
                writer_waiting = false;
            }
            if (queue.empty() && jobs.empty())
                break;
            batch_jobs.assign(std::make_move_iterator(jobs.begin()), std::make_move_iterator(jobs.end()));
            jobs.clear();
            std::size_t taken = 0;
            // Whole requests only, and at least one even when it alone exceeds the batch bound.
            while (!queue.empty() &&
                   (batch.empty() || taken + queue.front().samples.size() <= options.max_batch_samples)) {
                taken += queue.front().samples.size();
                batch.push_back(std::move(queue.front()));
                queue.pop_front();
            }
            queued_samples -= taken;
            stat_queue.store(queued_samples, std::memory_order_relaxed);
        }

        if (batch.empty()) {
            run_jobs();
            continue;
        }
        const auto t0 = Clock::now();
        const int rc = write_batch();
        const bool committed = rc == SQLITE_OK;
        const auto us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count();

        std::size_t samples = 0;
        for (const Request& r : batch)
            samples += r.samples.size();
        if (committed) {
            stat_batches.fetch_add(1, std::memory_order_relaxed);
            stat_samples.fetch_add(samples, std::memory_order_relaxed);
            stat_requests.fetch_add(batch.size(), std::memory_order_relaxed);
            stat_last_batch.store(static_cast<std::uint32_t>(samples), std::memory_order_relaxed);
            stat_last_commit_us.store(static_cast<std::uint32_t>(us), std::memory_order_relaxed);
            commit_latency.record(std::chrono::microseconds(us));
        } else {
            stat_failed.fetch_add(1, std::memory_order_relaxed);
        }
        log_transition(rc);
        const CommitStatus status = committed             ? CommitStatus::committed
                                    : rc == SQLITE_FULL   ? CommitStatus::full
                                    : rc == SQLITE_BUSY   ? CommitStatus::locked
                                    : rc == SQLITE_LOCKED ? CommitStatus::locked
                                                          : CommitStatus::failed;
        for (Request& r : batch) {
            if (r.done)
                r.done(status);
        }
        if (committed && observer) {
            for (const Request& r : batch)
                observer(r.samples);
        }
        // After a failed batch the database is most likely still unwritable; a compaction now would only
        // fail too (or wait out the busy timeout again) while requests queue behind it.
        if (committed)
            compact_step();
        if (wal_frames > kWalRestartFrames)
            catch_up_checkpoint();
        run_jobs();
    }
    batch.clear();
    compact_all();
    end_session();
}

void Store::Impl::catch_up_checkpoint()
{
    // The checkpointer's rounds copy the WAL but seldom let it start over under sustained load: that needs
    // a round to end with every frame copied before the writer's next commit, and the writer appends during
    // nearly every round. Here no commit can interleave, so a PASSIVE round that copies the rest (most of it
    // is copied already) lets the next commit start the WAL from its beginning. It never waits: a busy
    // checkpointer or a reader pinning old frames just means another try after the next commit.
    int frames = 0;
    int copied = 0;
    if (sqlite3_wal_checkpoint_v2(db.get(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &frames, &copied) ==
            SQLITE_OK &&
        copied == frames)
        wal_frames = 0;
}

void Store::Impl::log_transition(int rc)
{
    // One line when commits start failing and one when they resume, not one per batch: a full disk fails
    // every batch until someone frees space.
    if (rc != SQLITE_OK) {
        if (failed_in_a_row++ == 0 || rc != last_batch_rc)
            std::fprintf(stderr,
                         "fleetscope: store commits fail (%s): %s; answering 503 until they succeed\n",
                         options.path.c_str(), sqlite3_errstr(rc));
    } else if (failed_in_a_row != 0) {
        std::fprintf(stderr, "fleetscope: store commits resumed (%s) after %llu failed batches\n",
                     options.path.c_str(), static_cast<unsigned long long>(failed_in_a_row));
        failed_in_a_row = 0;
    }
    last_batch_rc = rc;
}

void Store::Impl::run_checkpointer()
{
    name_this_thread("store-ckpt");
    // PASSIVE never waits for the writer or for readers; what it cannot copy now it copies on a later round.
    // The writer restarts the WAL from its beginning once a round has copied all of it.
    sql::Db ck;
    try {
        ck = open_db(options.path, false, options.busy_timeout);
        // A connection opens the WAL only with its first read; until then sqlite3_wal_checkpoint_v2 on it
        // is a silent no-op (it returns SQLITE_OK), and the WAL would grow for as long as the store runs.
        query_int(ck.get(), "PRAGMA user_version", options.path);
    } catch (const StoreError& e) {
        // The writer still commits; the WAL then only grows until the next start checkpoints it.
        std::fprintf(stderr, "fleetscope: store checkpointer disabled: %s\n", e.what());
        return;
    }
    bool failing = false;
    std::unique_lock lock(checkpoint_mutex);
    for (;;) {
        checkpoint_cv.wait_for(lock, kCheckpointPeriod, [this] { return checkpoint_stop; });
        const bool last = checkpoint_stop;
        lock.unlock();
        // The last round runs after the writer has stopped: TRUNCATE leaves an empty WAL behind.
        const int rc = sqlite3_wal_checkpoint_v2(
            ck.get(), nullptr, last ? SQLITE_CHECKPOINT_TRUNCATE : SQLITE_CHECKPOINT_PASSIVE, nullptr,
            nullptr);
        // A checkpoint that fails (a full disk, an I/O error) leaves the WAL as it is: every commit is still
        // in it, and the next round tries again. SQLITE_BUSY only means another connection holds a lock the
        // round needed (another checkpointer, or at stop another process's write lock).
        const int primary = rc & 0xff;
        const bool failed = rc != SQLITE_OK && primary != SQLITE_BUSY && primary != SQLITE_LOCKED;
        if (failed != failing) {
            std::fprintf(stderr, "fleetscope: store checkpoint %s (%s)%s%s\n",
                         failed ? "fails" : "works again", options.path.c_str(), failed ? ": " : "",
                         failed ? sqlite3_errmsg(ck.get()) : "");
            failing = failed;
        }
        if (last)
            return;
        lock.lock();
    }
}

sql::Db Store::Impl::lease_reader() const
{
    {
        std::unique_lock lock(readers_mutex);
        readers_cv.wait(lock, [&] { return !idle_readers.empty() || open_readers < kReaders; });
        if (!idle_readers.empty()) {
            sql::Db db = std::move(idle_readers.back());
            idle_readers.pop_back();
            return db;
        }
        ++open_readers;
    }
    try {
        sql::Db db = open_db(options.path, true, options.busy_timeout);
        sql::exec(db.get(), ("PRAGMA cache_size = -" + std::to_string(kReaderCacheKiB)).c_str());
        return db;
    } catch (...) {
        std::lock_guard lock(readers_mutex);
        --open_readers;
        readers_cv.notify_one();
        throw;
    }
}

void Store::Impl::return_reader(sql::Db db) const
{
    std::lock_guard lock(readers_mutex);
    idle_readers.push_back(std::move(db));
    readers_cv.notify_one();
}

namespace {

/// Holds a leased read connection and its read transaction for one query.
class ReadLease {
public:
    ReadLease(sql::Db db, std::function<void(sql::Db)> give_back, const std::string& path)
        : db_(std::move(db))
        , give_back_(std::move(give_back))
    {
        sql::exec_or_throw(db_.get(), "BEGIN", "cannot start a read transaction", path);
    }
    ~ReadLease()
    {
        if (sqlite3_get_autocommit(db_.get()) == 0)
            sql::exec(db_.get(), "COMMIT");
        give_back_(std::move(db_));
    }
    ReadLease(const ReadLease&) = delete;
    ReadLease& operator=(const ReadLease&) = delete;
    sqlite3* get() const { return db_.get(); }

private:
    sql::Db db_;
    std::function<void(sql::Db)> give_back_;
};

/// One ordered source of rows for the k-way merge in Store::samples.
struct Cursor {
    sql::Stmt stmt;
    std::string metric; // fixed for a series cursor, per row for the `recent` cursor
    bool per_row_metric = false;
    std::int64_t ts = 0;
    double value = 0;

    /// Advances; false at the end. Throws on an SQLite error.
    bool next(sqlite3* db, const std::string& path)
    {
        const int rc = stmt.step();
        if (rc == SQLITE_DONE)
            return false;
        if (rc != SQLITE_ROW)
            throw StoreError(sql::describe(db, "cannot read samples", path));
        ts = stmt.int64(0);
        if (per_row_metric) {
            metric = stmt.text(1);
            value = stmt.real(2);
        } else {
            value = stmt.real(1);
        }
        return true;
    }
};

} // namespace

Store::Store(Options options)
    : impl_(std::make_unique<Impl>(std::move(options)))
{
    impl_->open();
    impl_->writer = std::thread([impl = impl_.get()] { impl->run(); });
    impl_->checkpointer = std::thread([impl = impl_.get()] { impl->run_checkpointer(); });
}

Store::~Store()
{
    stop();
}

bool Store::submit(std::vector<telemetry::Sample>&& samples, CommitCallback done)
{
    Impl& s = *impl_;
    const std::size_t n = samples.size();
    bool wake = false;
    {
        std::lock_guard lock(s.queue_mutex);
        if (s.stopping)
            return false;
        if (s.queued_samples + n > s.options.queue_samples) {
            s.stat_rejected.fetch_add(1, std::memory_order_relaxed);
            return false;
        }
        s.queue.push_back(Request{std::move(samples), std::move(done)});
        s.queued_samples += n;
        s.stat_queue.store(s.queued_samples, std::memory_order_relaxed);
        wake = s.writer_waiting;
    }
    if (wake)
        s.queue_cv.notify_one();
    return true;
}

bool Store::post_write(WriteJob job)
{
    Impl& s = *impl_;
    bool wake = false;
    {
        std::lock_guard lock(s.queue_mutex);
        if (s.stopping)
            return false;
        s.jobs.push_back(std::move(job));
        wake = s.writer_waiting;
    }
    if (wake)
        s.queue_cv.notify_one();
    return true;
}

std::int64_t Store::session_id() const
{
    return impl_->session;
}

void Store::set_observer(CommitObserver observer)
{
    std::lock_guard lock(impl_->queue_mutex);
    impl_->observer = std::move(observer);
}

void Store::stop()
{
    Impl& s = *impl_;
    std::lock_guard stop_lock(s.stop_mutex);
    {
        std::lock_guard lock(s.queue_mutex);
        s.stopping = true;
    }
    s.queue_cv.notify_one();
    if (s.writer.joinable())
        s.writer.join();
    {
        std::lock_guard lock(s.checkpoint_mutex);
        s.checkpoint_stop = true;
    }
    s.checkpoint_cv.notify_one();
    if (s.checkpointer.joinable())
        s.checkpointer.join();
}

std::vector<DeviceRow> Store::devices() const
{
    const Impl& s = *impl_;
    ReadLease db(
        s.lease_reader(), [&s](sql::Db d) { s.return_reader(std::move(d)); }, s.options.path);
    sql::Stmt q = sql::prepare(
        db.get(), "SELECT name, first_seen, last_seen, samples FROM devices ORDER BY name", s.options.path);
    std::vector<DeviceRow> out;
    int rc;
    while ((rc = q.step()) == SQLITE_ROW)
        out.push_back(DeviceRow{std::string(q.text(0)), q.int64(1), q.int64(2), q.int64(3)});
    if (rc != SQLITE_DONE)
        throw StoreError(sql::describe(db.get(), "cannot read devices", s.options.path));
    return out;
}

std::vector<SessionRow> read_sessions(sqlite3* db, const std::string& path)
{
    sql::Stmt q =
        sql::prepare(db,
                     "SELECT id, started_at, ended_at, coalesce(end_reason, ''), app_version, settings"
                     " FROM sessions ORDER BY id",
                     path);
    std::vector<SessionRow> out;
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) {
        SessionRow row{q.int64(0),
                       q.int64(1),
                       std::nullopt,
                       std::string(q.text(3)),
                       std::string(q.text(4)),
                       std::string(q.text(5))};
        if (sqlite3_column_type(q.get(), 2) != SQLITE_NULL)
            row.ended_at = q.int64(2);
        out.push_back(std::move(row));
    }
    if (rc != SQLITE_DONE)
        throw StoreError(sql::describe(db, "cannot read sessions", path));
    return out;
}

std::vector<SessionRow> Store::sessions() const
{
    const Impl& s = *impl_;
    ReadLease db(
        s.lease_reader(), [&s](sql::Db d) { s.return_reader(std::move(d)); }, s.options.path);
    return read_sessions(db.get(), s.options.path);
}

std::vector<SampleRow> Store::samples(const SampleQuery& q) const
{
    std::vector<SampleRow> out;
    if (q.limit == 0)
        return out;
    const Impl& s = *impl_;
    const std::string& path = s.options.path;
    ReadLease lease(
        s.lease_reader(), [&s](sql::Db d) { s.return_reader(std::move(d)); }, path);
    sqlite3* db = lease.get();

    auto lookup = [&](const char* sql, const std::string& name) -> std::optional<std::int64_t> {
        sql::Stmt st = sql::prepare(db, sql, path);
        st.bind(1, name);
        const int rc = st.step();
        if (rc == SQLITE_ROW)
            return st.int64(0);
        if (rc != SQLITE_DONE)
            throw StoreError(sql::describe(db, "cannot look up " + name, path));
        return std::nullopt;
    };
    const auto device = lookup("SELECT id FROM devices WHERE name = ?1", q.device);
    if (!device)
        return out;
    std::optional<std::int64_t> metric;
    if (!q.metric.empty()) {
        metric = lookup("SELECT id FROM metrics WHERE name = ?1", q.metric);
        if (!metric)
            return out;
    }
    const std::int64_t from = q.from.value_or(std::numeric_limits<std::int64_t>::min());
    const std::int64_t to = q.to.value_or(std::numeric_limits<std::int64_t>::max());
    if (from > to)
        return out;

    // One cursor per series in `samples` plus one over `recent`, each in (ts, metric) order, merged.
    std::vector<std::pair<std::int64_t, std::string>> series;
    if (metric) {
        series.emplace_back(*metric, q.metric);
    } else {
        sql::Stmt st = sql::prepare(db, kDeviceMetrics, path);
        st.bind(1, *device);
        int rc;
        while ((rc = st.step()) == SQLITE_ROW)
            series.emplace_back(st.int64(0), std::string(st.text(1)));
        if (rc != SQLITE_DONE)
            throw StoreError(sql::describe(db, "cannot list the metrics of " + q.device, path));
    }
    std::vector<Cursor> cursors;
    cursors.reserve(series.size() + 1);
    for (auto& [id, name] : series) {
        Cursor c;
        c.stmt = sql::prepare(db, kSeriesRange, path);
        c.metric = std::move(name);
        c.stmt.bind(1, *device);
        c.stmt.bind(2, id);
        c.stmt.bind(3, from);
        c.stmt.bind(4, to);
        cursors.push_back(std::move(c));
    }
    {
        Cursor c;
        c.stmt = sql::prepare(db, kRecentRange, path);
        c.per_row_metric = true;
        c.stmt.bind(1, *device);
        if (metric)
            c.stmt.bind(2, *metric);
        else
            c.stmt.bind_null(2);
        c.stmt.bind(3, from);
        c.stmt.bind(4, to);
        cursors.push_back(std::move(c));
    }

    auto later = [&cursors](std::size_t a, std::size_t b) {
        const Cursor& x = cursors[a];
        const Cursor& y = cursors[b];
        if (x.ts != y.ts)
            return x.ts > y.ts;
        if (x.metric != y.metric)
            return x.metric > y.metric;
        return a > b;
    };
    std::priority_queue<std::size_t, std::vector<std::size_t>, decltype(later)> heap(later);
    for (std::size_t i = 0; i < cursors.size(); ++i) {
        if (cursors[i].next(db, path))
            heap.push(i);
    }
    out.reserve(std::min<std::size_t>(q.limit, 4096));
    while (!heap.empty() && out.size() < q.limit) {
        const std::size_t i = heap.top();
        heap.pop();
        Cursor& c = cursors[i];
        out.push_back(SampleRow{c.ts, c.metric, c.value});
        if (c.next(db, path))
            heap.push(i);
    }
    return out;
}

StoreStats Store::stats() const
{
    const Impl& s = *impl_;
    StoreStats st;
    st.queue_samples = s.stat_queue.load(std::memory_order_relaxed);
    st.batches = s.stat_batches.load(std::memory_order_relaxed);
    st.committed_samples = s.stat_samples.load(std::memory_order_relaxed);
    st.committed_requests = s.stat_requests.load(std::memory_order_relaxed);
    st.rejected_overload = s.stat_rejected.load(std::memory_order_relaxed);
    st.failed_batches = s.stat_failed.load(std::memory_order_relaxed);
    st.last_batch_samples = s.stat_last_batch.load(std::memory_order_relaxed);
    st.last_commit_us = s.stat_last_commit_us.load(std::memory_order_relaxed);
    st.commit_latency = s.commit_latency.counts();
    return st;
}

const std::string& Store::path() const
{
    return impl_->options.path;
}

std::string Store::add_mark(const std::string& label, std::int64_t from_ts, std::int64_t to_ts)
{
    const std::int64_t session = impl_->session;
    if (session == 0)
        return "no session is being recorded (the store was opened without an app version)";
    if (label.empty() || label.size() > kMaxMarkLabel)
        return "mark label: expected 1 to " + std::to_string(kMaxMarkLabel) + " bytes, got " +
               std::to_string(label.size());
    if (from_ts > to_ts)
        return "mark span: from " + std::to_string(from_ts) + " is after to " + std::to_string(to_ts);
    const bool queued = post_write([=](sqlite3* db) {
        sqlite3_stmt* raw = nullptr;
        sqlite3_prepare_v2(db, "INSERT INTO marks(session_id, label, from_ts, to_ts) VALUES (?1, ?2, ?3, ?4)",
                           -1, &raw, nullptr);
        sql::Stmt insert(raw);
        if (!insert)
            return false;
        insert.bind(1, session);
        insert.bind(2, label);
        insert.bind(3, from_ts);
        insert.bind(4, to_ts);
        return insert.step() == SQLITE_DONE;
    });
    return queued ? std::string() : "the store is stopping; the mark was not recorded";
}

bool Store::add_timeline(std::vector<TimelineRow> points)
{
    const std::int64_t session = impl_->session;
    if (session == 0)
        return false;
    Impl* s = impl_.get();
    return post_write([s, session, points = std::move(points)](sqlite3* db) {
        sql::Stmt& insert = s->insert_timeline;
        if (!insert) {
            sqlite3_stmt* raw = nullptr;
            sqlite3_prepare_v3(
                db, "INSERT OR REPLACE INTO timeline(session_id, series, ts, value) VALUES (?1, ?2, ?3, ?4)",
                -1, SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
            insert = sql::Stmt(raw);
            if (!insert)
                return false;
        }
        for (const TimelineRow& p : points) {
            insert.bind(1, session);
            insert.bind(2, p.series);
            insert.bind(3, p.ts);
            insert.bind(4, p.value);
            const int rc = insert.step();
            insert.reset();
            if (rc != SQLITE_DONE)
                return false;
        }
        return true;
    });
}

} // namespace fleetscope::store
