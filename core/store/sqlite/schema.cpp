// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/store/sqlite/schema.hpp"

#include "core/store/sqlite/chunk.hpp"
#include "core/store/sqlite/db.hpp"

#include <iterator>
#include <tuple>

// The main file, version 3 (PRAGMA user_version = 3)
// ---------------------------------------------------
//   devices(id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL,
//           first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL,   -- ms since epoch, min/max sample ts
//           samples INTEGER NOT NULL)                                  -- telemetry samples received
//   metrics(id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL)
//   chunks(id INTEGER PRIMARY KEY, device_id, metric_id, bucket,       -- bucket: ts >> 16 (65.536 s)
//          readings, first_ts, last_ts, data BLOB)                     -- data: chunk.hpp
//     INDEX chunks_by_series(device_id, metric_id, bucket)
//   sessions, marks, timeline, alerts, meta (version 2, see kSchemaV2)
//   compaction(id INTEGER PRIMARY KEY CHECK (id = 1), moved_through INTEGER NOT NULL)
//
// A chunk holds readings of one series (device, metric) within one bucket, in ts order. A device's series
// over a time range is a contiguous range of the index, bucket by bucket; within a bucket, chunks in id order
// were written in that order, and a reader merges them by ts. Repeats of a (device, metric, ts) are just two
// readings in a chunk, or in two: nothing committed is ever merged away. Version 2 kept one row per reading
// (`samples`, with `seq` numbering repeats); a compaction now writes a row per series and bucket it touches.
// Chunks are rowid rows with a small index rather than a WITHOUT ROWID table: a WITHOUT ROWID b-tree keeps
// whole rows in its interior pages, and a chunk's blob would crowd them.
//
// Group commits do not write this file. They append one row per commit to `recent` in the recent file
// `<main>-recent` (its own WAL, PRAGMA user_version = 1):
//   recent(id INTEGER PRIMARY KEY, batch BLOB NOT NULL)   -- one group commit, encoded by sqlite/batch.hpp
//   meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID          -- store_id: which main file
// The compactor moves committed batches into `chunks` (and new names into devices and metrics, and the
// batches' counts into devices) and sets compaction.moved_through to the last batch id it moved, in one
// transaction of the main file. A batch of the recent file with id <= moved_through is already in `chunks`:
// readers skip it, and the writer deletes it later. docs/architecture.md, "The store", argues why this is
// exactly once at every step.
//
// `devices` rows count what has been moved; a reader adds what the unmoved batches hold.
//
// Files: WAL journals, synchronous=NORMAL for group commits (durable against a process crash, atomic against
// power loss), synchronous=FULL for the compactor, whose commit must be on disk before the writer deletes
// what it moved.

namespace fleetscope::store::sqlite {

namespace {

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

// Version 3: readings move from one row each (`samples`) to chunks of a series within a bucket of time
// (`chunks`, see chunk.hpp), and the in-file `recent` of versions 1 and 2 gives way to the recent file.
// convert_to_chunks moves every row of both old tables, then they go.
constexpr const char* kSchemaV3Before = R"sql(
CREATE TABLE chunks(
    id INTEGER PRIMARY KEY,
    device_id INTEGER NOT NULL,
    metric_id INTEGER NOT NULL,
    bucket INTEGER NOT NULL,
    readings INTEGER NOT NULL,
    first_ts INTEGER NOT NULL,
    last_ts INTEGER NOT NULL,
    data BLOB NOT NULL);
CREATE INDEX chunks_by_series ON chunks(device_id, metric_id, bucket);
CREATE TABLE compaction(
    id INTEGER PRIMARY KEY CHECK (id = 1),
    moved_through INTEGER NOT NULL);
INSERT INTO compaction VALUES (1, 0);
)sql";

constexpr const char* kSchemaV3After = R"sql(
DROP TABLE samples;
DROP TABLE recent;
)sql";

/// Every reading of the version-2 tables `samples` (in primary-key order) and `recent` (in commit order),
/// merged per series in ts order, into chunks.
void convert_to_chunks(sqlite3* db, const std::string& path)
{
    Stmt stored = prepare(
        db, "SELECT device_id, metric_id, ts, value FROM samples ORDER BY device_id, metric_id, ts, seq",
        path);
    Stmt recent = prepare(
        db, "SELECT device_id, metric_id, ts, value FROM recent ORDER BY device_id, metric_id, ts, rowid",
        path);
    Stmt insert =
        prepare(db,
                "INSERT INTO chunks(device_id, metric_id, bucket, readings, first_ts, last_ts, data)"
                " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                path);
    struct Row {
        std::int64_t device, metric, ts;
        double value;
    };
    auto next = [&](Stmt& st, Row& r) {
        const int rc = st.step();
        if (rc == SQLITE_ROW) {
            r = Row{st.int64(0), st.int64(1), st.int64(2), st.real(3)};
            return true;
        }
        if (rc != SQLITE_DONE)
            throw StoreError(describe(db, "cannot read the readings to convert", path));
        return false;
    };
    ChunkEncoder chunk;
    std::int64_t device = 0;
    std::int64_t metric = 0;
    auto flush = [&] {
        if (chunk.readings() == 0)
            return;
        insert.bind(1, device);
        insert.bind(2, metric);
        insert.bind(3, bucket_of(chunk.first_ts()));
        insert.bind(4, static_cast<std::int64_t>(chunk.readings()));
        insert.bind(5, chunk.first_ts());
        insert.bind(6, chunk.last_ts());
        insert.bind_blob(7, chunk.bytes());
        step_done(insert, db, "cannot write a converted chunk", path);
        chunk.clear();
    };
    Row a{};
    Row b{};
    bool has_a = next(stored, a);
    bool has_b = next(recent, b);
    while (has_a || has_b) {
        const bool take_a =
            has_a && (!has_b || std::tie(a.device, a.metric, a.ts) <= std::tie(b.device, b.metric, b.ts));
        const Row& r = take_a ? a : b;
        if (chunk.readings() != 0 &&
            (r.device != device || r.metric != metric || bucket_of(r.ts) != bucket_of(chunk.first_ts()) ||
             chunk.readings() == kMaxChunkReadings))
            flush();
        device = r.device;
        metric = r.metric;
        chunk.add(r.ts, r.value);
        if (take_a)
            has_a = next(stored, a);
        else
            has_b = next(recent, b);
    }
    flush();
}

constexpr const char* kRecentSchema = R"sql(
CREATE TABLE recent(
    id INTEGER PRIMARY KEY,
    batch BLOB NOT NULL);
CREATE TABLE meta(
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL) WITHOUT ROWID;
)sql";

/// One step of the schema history: running `sql`, then `code`, then `sql_after` on a database at version
/// `to - 1` brings it to `to`. A later schema version appends a step; existing steps never change.
struct Migration {
    int to;
    const char* sql;
    void (*code)(sqlite3* db, const std::string& path) = nullptr;
    const char* sql_after = nullptr;
};
const Migration kMigrations[] = {
    {1, kSchemaV1},
    {2, kSchemaV2},
    {3, kSchemaV3Before, convert_to_chunks, kSchemaV3After},
};
static_assert(std::size(kMigrations) == kSchemaVersion);

} // namespace

std::string recent_path(const std::string& main_path)
{
    return main_path + "-recent";
}

void check_readable_version(int version, std::string_view what, const std::string& path)
{
    if (version > kSchemaVersion)
        throw StoreError(std::string(what) + " " + path + " has schema version " + std::to_string(version) +
                         ", newer than this FleetScope understands (at most " +
                         std::to_string(kSchemaVersion) + "); open it with a newer FleetScope");
    if (version < 0)
        throw StoreError(std::string(what) + " " + path + " has an invalid schema version " +
                         std::to_string(version) + " (expected 0 to " + std::to_string(kSchemaVersion) + ")");
}

void migrate(sqlite3* db, const std::string& path)
{
    const auto version = static_cast<int>(query_int(db, "PRAGMA user_version", path));
    check_readable_version(version, "database", path);
    for (const Migration& m : kMigrations) {
        if (m.to <= version)
            continue;
        exec_or_throw(db, "BEGIN IMMEDIATE", "cannot start the schema migration", path);
        const std::string bump = "PRAGMA user_version = " + std::to_string(m.to);
        const std::string what = "cannot migrate the schema to version " + std::to_string(m.to);
        try {
            if (exec(db, m.sql) != SQLITE_OK)
                throw StoreError(describe(db, what, path));
            if (m.code)
                m.code(db, path);
            if ((m.sql_after && exec(db, m.sql_after) != SQLITE_OK) || exec(db, bump.c_str()) != SQLITE_OK)
                throw StoreError(describe(db, what, path));
        } catch (const StoreError& e) {
            exec(db, "ROLLBACK");
            throw StoreError(what + ": " + e.what());
        }
        exec_or_throw(db, "COMMIT", "cannot commit the schema migration", path);
    }
}

void migrate_recent(sqlite3* db, const std::string& path)
{
    const auto version = query_int(db, "PRAGMA user_version", path);
    if (version > kRecentSchemaVersion)
        throw StoreError("recent file " + path + " has version " + std::to_string(version) +
                         ", newer than this FleetScope understands (at most " +
                         std::to_string(kRecentSchemaVersion) + "); open it with a newer FleetScope");
    if (version == kRecentSchemaVersion)
        return;
    if (query_int(db, "SELECT count(*) FROM sqlite_master", path) != 0)
        throw StoreError(path + " is not a FleetScope recent file (it has tables, and user_version " +
                         std::to_string(version) + "); move it away from beside its database");
    exec_or_throw(db, "BEGIN IMMEDIATE", "cannot create the recent file", path);
    const std::string bump = "PRAGMA user_version = " + std::to_string(kRecentSchemaVersion);
    if (exec(db, kRecentSchema) != SQLITE_OK || exec(db, bump.c_str()) != SQLITE_OK) {
        const std::string msg = describe(db, "cannot create the recent file", path);
        exec(db, "ROLLBACK");
        throw StoreError(msg);
    }
    exec_or_throw(db, "COMMIT", "cannot create the recent file", path);
}

} // namespace fleetscope::store::sqlite
