// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/store/sqlite/db.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>

#if defined(__linux__)
#include <pthread.h>
#endif

namespace fleetscope::store::sqlite {

std::string describe(sqlite3* db, std::string_view what, std::string_view path)
{
    std::string msg(what);
    msg += " (";
    msg += path;
    msg += "): ";
    msg += db ? sqlite3_errmsg(db) : "out of memory";
    return msg;
}

Stmt prepare(sqlite3* db, std::string_view sql, std::string_view path, bool persistent)
{
    sqlite3_stmt* s = nullptr;
    const unsigned flags = persistent ? SQLITE_PREPARE_PERSISTENT : 0;
    if (sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), flags, &s, nullptr) != SQLITE_OK) {
        sqlite3_finalize(s);
        throw StoreError(describe(db, "cannot prepare a statement", path));
    }
    return Stmt(s);
}

void exec_or_throw(sqlite3* db, const char* sql, std::string_view what, std::string_view path)
{
    if (exec(db, sql) != SQLITE_OK)
        throw StoreError(describe(db, what, path));
}

std::int64_t query_int(sqlite3* db, std::string_view sql, std::string_view path)
{
    Stmt s = prepare(db, sql, path);
    if (s.step() != SQLITE_ROW)
        throw StoreError(describe(db, "cannot read " + std::string(sql), path));
    return s.int64(0);
}

void step_done(Stmt& s, sqlite3* db, std::string_view what, std::string_view path)
{
    if (s.step() != SQLITE_DONE) {
        const std::string msg = describe(db, what, path);
        s.reset();
        throw StoreError(msg);
    }
    s.reset();
}

bool has_table(sqlite3* db, std::string_view schema, std::string_view table, std::string_view path)
{
    Stmt s = prepare(
        db, "SELECT 1 FROM " + std::string(schema) + ".sqlite_master WHERE type = 'table' AND name = ?1",
        path);
    s.bind(1, table);
    return s.step() == SQLITE_ROW;
}

Db open(const std::string& path, int flags, Millis busy_timeout)
{
    sqlite3* raw = nullptr;
    const int rc = sqlite3_open_v2(path.c_str(), &raw, flags | SQLITE_OPEN_NOMUTEX, nullptr);
    Db db(raw);
    if (rc != SQLITE_OK)
        throw StoreError(describe(raw, "cannot open", path));
    sqlite3_extended_result_codes(raw, 1);
    sqlite3_busy_timeout(raw,
                         static_cast<int>(std::clamp<Millis::rep>(busy_timeout.count(), 0, 1'000'000'000)));
    return db;
}

std::string file_uri(const std::string& path, std::string_view mode)
{
    std::string p = std::filesystem::absolute(std::filesystem::path(path)).generic_string();
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
    if (!mode.empty()) {
        uri += "?mode=";
        uri += mode;
    }
    return uri;
}

void name_this_thread(const char* name)
{
#if defined(__linux__)
    pthread_setname_np(pthread_self(), name);
#else
    (void)name;
#endif
}

} // namespace fleetscope::store::sqlite
