// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/feed/history_reader.hpp"

#include <algorithm>
#include <chrono>
#include <memory>
#include <sqlite3.h>

namespace fleetscope::ui {

namespace {

struct CloseDb {
    void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct Finalize {
    void operator()(sqlite3_stmt* st) const { sqlite3_finalize(st); }
};
using Db = std::unique_ptr<sqlite3, CloseDb>;
using Statement = std::unique_ptr<sqlite3_stmt, Finalize>;

// Read-only and without a shared cache: this connection must never take a write lock the gateway's writer
// would wait on.
Db openReadOnly(const std::string& path, std::string& error)
{
    sqlite3* raw = nullptr;
    const int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
    Db db(raw);
    if (rc != SQLITE_OK) {
        error = "cannot open '" + path + "' read-only: " + (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc));
        return nullptr;
    }
    sqlite3_busy_timeout(db.get(), 2000);
    return db;
}

Statement prepare(sqlite3* db, const char* sql, std::string& error)
{
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &raw, nullptr) != SQLITE_OK) {
        error = std::string("cannot query the store (is it a FleetScope database?): ") + sqlite3_errmsg(db);
        return nullptr;
    }
    return Statement(raw);
}

// The store keeps a device's readings in two tables (core/store/store.cpp, schema version 1): `samples`,
// clustered by (device, metric, ts), and `recent`, the append-only tail not yet compacted into it. One
// statement reads both in one read transaction, so a concurrent compaction neither hides nor doubles a row.
constexpr const char* kHistorySql = R"sql(
WITH d(id) AS (SELECT id FROM devices WHERE name = ?1)
SELECT u.ts, m.name, u.value FROM (
    SELECT s.ts AS ts, s.metric_id AS metric_id, s.value AS value FROM samples s JOIN d ON s.device_id = d.id
    WHERE s.ts BETWEEN ?2 AND ?3
    UNION ALL
    SELECT r.ts, r.metric_id, r.value FROM recent r JOIN d ON r.device_id = d.id
    WHERE r.ts BETWEEN ?2 AND ?3) u
JOIN metrics m ON m.id = u.metric_id
ORDER BY u.ts DESC LIMIT ?4)sql";

// Schema 2 added tables beside the telemetry ones, which are unchanged since schema 1; both read alike.
constexpr int kOldestSchema = 1;
constexpr int kNewestSchema = 2;
static_assert(store::Store::kSchemaVersion == kNewestSchema,
              "the store's schema changed: check kHistorySql and the device query against it");

// Refuses a file whose schema this reader does not know, rather than misreading it.
bool schemaKnown(sqlite3* db, std::string& error)
{
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &raw, nullptr) != SQLITE_OK) {
        error = std::string("cannot read the schema version: ") + sqlite3_errmsg(db);
        return false;
    }
    Statement st(raw);
    const int version = sqlite3_step(st.get()) == SQLITE_ROW ? sqlite3_column_int(st.get(), 0) : -1;
    if (version < kOldestSchema || version > kNewestSchema) {
        error = "unsupported store schema version " + std::to_string(version) + ", expected " +
                std::to_string(kOldestSchema) + " to " + std::to_string(kNewestSchema);
        return false;
    }
    return true;
}

} // namespace

HistoryResult readHistory(const HistoryRequest& request)
{
    const auto started = std::chrono::steady_clock::now();
    HistoryResult result;
    Db db = openReadOnly(request.db_path, result.error);
    if (!db || !schemaKnown(db.get(), result.error))
        return result;
    // Newest first with a limit, so a long range shows its most recent part rather than its oldest.
    Statement st = prepare(db.get(), kHistorySql, result.error);
    if (!st)
        return result;
    sqlite3_bind_text(st.get(), 1, request.device.data(), static_cast<int>(request.device.size()),
                      SQLITE_STATIC);
    sqlite3_bind_int64(st.get(), 2, request.from_ms);
    sqlite3_bind_int64(st.get(), 3, request.to_ms);
    sqlite3_bind_int64(st.get(), 4, static_cast<sqlite3_int64>(request.limit) + 1);
    int rc = SQLITE_ROW;
    while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
        if (result.rows.size() == request.limit) {
            result.truncated = true;
            break;
        }
        store::SampleRow row;
        row.ts = sqlite3_column_int64(st.get(), 0);
        row.metric = reinterpret_cast<const char*>(sqlite3_column_text(st.get(), 1));
        row.value = sqlite3_column_double(st.get(), 2);
        result.rows.push_back(std::move(row));
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        result.error = std::string("reading samples failed: ") + sqlite3_errmsg(db.get());
    std::reverse(result.rows.begin(), result.rows.end());
    result.elapsed_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
    return result;
}

KnownDevicesResult readKnownDevices(const std::string& db_path)
{
    KnownDevicesResult result;
    Db db = openReadOnly(db_path, result.error);
    if (!db || !schemaKnown(db.get(), result.error))
        return result;
    Statement st = prepare(db.get(), "SELECT name, first_seen, last_seen, samples FROM devices ORDER BY name",
                           result.error);
    if (!st)
        return result;
    int rc = SQLITE_ROW;
    while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
        store::DeviceRow row;
        row.device = reinterpret_cast<const char*>(sqlite3_column_text(st.get(), 0));
        row.first_seen = sqlite3_column_int64(st.get(), 1);
        row.last_seen = sqlite3_column_int64(st.get(), 2);
        row.samples = sqlite3_column_int64(st.get(), 3);
        result.rows.push_back(std::move(row));
    }
    if (rc != SQLITE_DONE)
        result.error = std::string("reading devices failed: ") + sqlite3_errmsg(db.get());
    return result;
}

} // namespace fleetscope::ui
