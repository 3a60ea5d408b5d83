// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/store/sqlite/schema.hpp"

#include "core/store/sqlite/db.hpp"

#include <iterator>

// The main file, version 3 (PRAGMA user_version = 3)
// ---------------------------------------------------
//   devices(id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL,
//           first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL,   -- ms since epoch, min/max sample ts
//           samples INTEGER NOT NULL)                                  -- telemetry samples received
//   metrics(id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL)
//   samples(device_id INTEGER NOT NULL, metric_id INTEGER NOT NULL, ts INTEGER NOT NULL,
//           seq INTEGER NOT NULL, value REAL NOT NULL,
//           PRIMARY KEY (device_id, metric_id, ts, seq)) WITHOUT ROWID
//   sessions, marks, timeline, alerts, meta (version 2, see kSchemaV2)
//   compaction(id INTEGER PRIMARY KEY CHECK (id = 1), moved_through INTEGER NOT NULL)   (version 3)
//
// `samples` holds one row per reading, clustered by (device, metric, ts): a device's series over a time range
// is one contiguous range of the b-tree, so queries read only what they return. `seq` is 0 unless a device
// sent the same (metric, ts) more than once; repeats get 1, 2, ... so that nothing committed is ever merged
// away. A zero costs no bytes in SQLite's record format.
//
// Group commits do not write this file. They append one row per commit to `recent` in the recent file
// `<main>-recent` (its own WAL, PRAGMA user_version = 1):
//   recent(id INTEGER PRIMARY KEY, batch BLOB NOT NULL)   -- one group commit, encoded by sqlite/batch.hpp
//   meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID          -- store_id: which main file
// The compactor moves committed batches into `samples` (and new names into devices and metrics, and the
// batches' counts into devices) and sets compaction.moved_through to the last batch id it moved, in one
// transaction of the main file. A batch of the recent file with id <= moved_through is already in `samples`:
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

// The in-file `recent` of versions 1 and 2 gives way to the recent file. Rows it still holds (a version-2
// gateway that was killed) move into `samples` here, repeats of a (device, metric, ts) numbered after what is
// stored, as that version's compaction numbered them.
constexpr const char* kSchemaV3 = R"sql(
INSERT INTO samples(device_id, metric_id, ts, seq, value)
SELECT r.device_id, r.metric_id, r.ts,
       coalesce((SELECT max(s.seq) + 1 FROM samples s
                 WHERE s.device_id = r.device_id AND s.metric_id = r.metric_id AND s.ts = r.ts), 0)
           + row_number() OVER (PARTITION BY r.device_id, r.metric_id, r.ts ORDER BY r.rowid) - 1,
       r.value
FROM recent r ORDER BY r.device_id, r.metric_id, r.ts, r.rowid;
DROP TABLE recent;
CREATE TABLE compaction(
    id INTEGER PRIMARY KEY CHECK (id = 1),
    moved_through INTEGER NOT NULL);
INSERT INTO compaction VALUES (1, 0);
)sql";

constexpr const char* kRecentSchema = R"sql(
CREATE TABLE recent(
    id INTEGER PRIMARY KEY,
    batch BLOB NOT NULL);
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
    {3, kSchemaV3},
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
        if (exec(db, m.sql) != SQLITE_OK || exec(db, bump.c_str()) != SQLITE_OK) {
            const std::string msg =
                describe(db, "cannot migrate the schema to version " + std::to_string(m.to), path);
            exec(db, "ROLLBACK");
            throw StoreError(msg);
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
