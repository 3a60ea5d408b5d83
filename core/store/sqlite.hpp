// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// Thin RAII over the SQLite C API, private to core/store. Each object is used by one thread at a time: the
// connections are opened with SQLITE_OPEN_NOMUTEX, so SQLite itself does not serialise calls on them.

#include "core/store/store.hpp"

#include <cstdint>
#include <sqlite3.h>
#include <string>
#include <string_view>
#include <utility>

namespace fleetscope::store::sql {

/// An owned connection; closed on destruction.
class Db {
public:
    Db() = default;
    explicit Db(sqlite3* db)
        : db_(db)
    {}
    ~Db() { sqlite3_close_v2(db_); }
    Db(Db&& o) noexcept
        : db_(std::exchange(o.db_, nullptr))
    {}
    Db& operator=(Db&& o) noexcept
    {
        std::swap(db_, o.db_);
        return *this;
    }
    Db(const Db&) = delete;
    Db& operator=(const Db&) = delete;

    sqlite3* get() const { return db_; }
    explicit operator bool() const { return db_ != nullptr; }

private:
    sqlite3* db_ = nullptr;
};

/// An owned prepared statement; finalized on destruction.
class Stmt {
public:
    Stmt() = default;
    Stmt(sqlite3_stmt* s)
        : s_(s)
    {}
    ~Stmt() { sqlite3_finalize(s_); }
    Stmt(Stmt&& o) noexcept
        : s_(std::exchange(o.s_, nullptr))
    {}
    Stmt& operator=(Stmt&& o) noexcept
    {
        std::swap(s_, o.s_);
        return *this;
    }
    Stmt(const Stmt&) = delete;
    Stmt& operator=(const Stmt&) = delete;

    sqlite3_stmt* get() const { return s_; }
    explicit operator bool() const { return s_ != nullptr; }

    void bind(int i, std::int64_t v) { sqlite3_bind_int64(s_, i, v); }
    void bind(int i, double v) { sqlite3_bind_double(s_, i, v); }
    // SQLITE_STATIC: every caller keeps the text alive until the statement is reset.
    void bind(int i, std::string_view v)
    {
        sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
    }
    void bind_null(int i) { sqlite3_bind_null(s_, i); }

    /// sqlite3_step; SQLITE_ROW or SQLITE_DONE on success.
    int step() { return sqlite3_step(s_); }
    void reset() { sqlite3_reset(s_); }

    std::int64_t int64(int col) const { return sqlite3_column_int64(s_, col); }
    double real(int col) const { return sqlite3_column_double(s_, col); }
    std::string_view text(int col) const
    {
        const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, col));
        return p ? std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(s_, col)))
                 : std::string_view();
    }

private:
    sqlite3_stmt* s_ = nullptr;
};

/// "<what> (<path>): <SQLite's message>", the form of every StoreError.
inline std::string describe(sqlite3* db, std::string_view what, std::string_view path)
{
    std::string msg(what);
    msg += " (";
    msg += path;
    msg += "): ";
    msg += db ? sqlite3_errmsg(db) : "out of memory";
    return msg;
}

/// Prepares `sql` or throws StoreError. `persistent` hints SQLite that the statement lives for the
/// connection.
inline Stmt prepare(sqlite3* db, std::string_view sql, std::string_view path, bool persistent = false)
{
    sqlite3_stmt* s = nullptr;
    const unsigned flags = persistent ? SQLITE_PREPARE_PERSISTENT : 0;
    if (sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), flags, &s, nullptr) != SQLITE_OK) {
        sqlite3_finalize(s);
        throw StoreError(describe(db, "cannot prepare a statement", path));
    }
    return Stmt(s);
}

/// Runs one or more statements without results; returns the SQLite result code.
inline int exec(sqlite3* db, const char* sql)
{
    return sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
}

/// Runs `sql` or throws StoreError naming `what`.
inline void exec_or_throw(sqlite3* db, const char* sql, std::string_view what, std::string_view path)
{
    if (exec(db, sql) != SQLITE_OK)
        throw StoreError(describe(db, what, path));
}

} // namespace fleetscope::store::sql
