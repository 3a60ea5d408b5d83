// SPDX-License-Identifier: GPL-3.0-or-later
#include "support/store_files.hpp"

#include "core/store/sqlite/batch.hpp"
#include "core/store/sqlite/chunk.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <sqlite3.h>
#include <stdexcept>

namespace fleetscope::testing {

std::vector<std::pair<std::string, std::int64_t>> read_readings(const std::string& path,
                                                                std::string_view metric)
{
    struct Db {
        sqlite3* db = nullptr;
        std::string path;
        ~Db() { sqlite3_close(db); }
        [[noreturn]] void fail(const char* what) const
        {
            throw std::runtime_error(std::string(what) + " on " + path + ": " + sqlite3_errmsg(db));
        }
        void open(const std::string& p)
        {
            path = p;
            // Read-write without create: a file left by a killed process may need its WAL recovered.
            if (sqlite3_open_v2(p.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK)
                fail("cannot open");
            sqlite3_busy_timeout(db, 5000);
        }
        std::int64_t scalar(const char* sql) const
        {
            sqlite3_stmt* st = nullptr;
            if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) != SQLITE_OK)
                fail(sql);
            const std::int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
            sqlite3_finalize(st);
            return v;
        }
    };
    Db main;
    main.open(path);
    const auto version = main.scalar("PRAGMA user_version");
    if (version != 3)
        throw std::runtime_error("schema version " + std::to_string(version) + " in " + path +
                                 ": this reader knows version 3");
    std::map<std::int64_t, std::string> devices;
    std::map<std::int64_t, std::string> metrics;
    auto names = [&](const char* sql, std::map<std::int64_t, std::string>& into) {
        sqlite3_stmt* st = nullptr;
        if (sqlite3_prepare_v2(main.db, sql, -1, &st, nullptr) != SQLITE_OK)
            main.fail(sql);
        while (sqlite3_step(st) == SQLITE_ROW)
            into[sqlite3_column_int64(st, 0)] = reinterpret_cast<const char*>(sqlite3_column_text(st, 1));
        sqlite3_finalize(st);
    };
    names("SELECT id, name FROM devices", devices);
    names("SELECT id, name FROM metrics", metrics);
    const std::int64_t moved = main.scalar("SELECT moved_through FROM compaction");
    std::vector<std::pair<std::int64_t, std::int64_t>> rows; // (device id, ts)
    {
        sqlite3_stmt* st = nullptr;
        if (sqlite3_prepare_v2(main.db, "SELECT device_id, metric_id, readings, data FROM chunks", -1, &st,
                               nullptr) != SQLITE_OK)
            main.fail("select");
        int rc = 0;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            if (metrics[sqlite3_column_int64(st, 1)] != metric)
                continue;
            store::sqlite::ChunkDecoder chunk(
                std::string_view(static_cast<const char*>(sqlite3_column_blob(st, 3)),
                                 static_cast<std::size_t>(sqlite3_column_bytes(st, 3))),
                sqlite3_column_int64(st, 2), path);
            std::int64_t ts = 0;
            double value = 0;
            while (chunk.next(ts, value))
                rows.emplace_back(sqlite3_column_int64(st, 0), ts);
        }
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE)
            main.fail("select");
    }
    const std::string recent_path = path + "-recent";
    if (std::FILE* f = std::fopen(recent_path.c_str(), "rb")) {
        std::fclose(f);
        Db recent;
        recent.open(recent_path);
        sqlite3_stmt* st = nullptr;
        if (sqlite3_prepare_v2(recent.db, "SELECT batch FROM recent WHERE id > ?1 ORDER BY id", -1, &st,
                               nullptr) != SQLITE_OK)
            recent.fail("select");
        sqlite3_bind_int64(st, 1, moved);
        int rc = 0;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            store::sqlite::BatchDecoder batch(
                std::string_view(static_cast<const char*>(sqlite3_column_blob(st, 0)),
                                 static_cast<std::size_t>(sqlite3_column_bytes(st, 0))),
                recent_path);
            std::int64_t id = 0;
            std::string_view name;
            while (batch.next_device(id, name))
                devices[id] = std::string(name);
            while (batch.next_metric(id, name))
                metrics[id] = std::string(name);
            std::int64_t device = 0;
            std::int64_t ts = 0;
            std::size_t n = 0;
            while (batch.next_sample(device, ts, n)) {
                for (std::size_t i = 0; i < n; ++i) {
                    std::int64_t m = 0;
                    double value = 0;
                    batch.next_reading(m, value);
                    if (metrics[m] == metric)
                        rows.emplace_back(device, ts);
                }
            }
        }
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE)
            recent.fail("select");
    }
    std::vector<std::pair<std::string, std::int64_t>> out;
    out.reserve(rows.size());
    for (const auto& [device, ts] : rows)
        out.emplace_back(devices[device], ts);
    std::sort(out.begin(), out.end());
    return out;
}

} // namespace fleetscope::testing
