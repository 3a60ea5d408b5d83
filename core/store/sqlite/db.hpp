// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// Thin RAII over the SQLite C API, private to the SQLite backend. Each object is used by one thread at a
// time: connections are opened with SQLITE_OPEN_NOMUTEX, so SQLite itself does not serialise calls on them.

#include "core/settings.hpp"
#include "core/store/types.hpp"

#include <cstdint>
#include <sqlite3.h>
#include <string>
#include <string_view>
#include <utility>

namespace fleetscope::store::sqlite {

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
    explicit Stmt(sqlite3_stmt* s)
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
    void bind_blob(int i, std::string_view v)
    {
        sqlite3_bind_blob(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
    }
    void bind(int i, const std::optional<std::int64_t>& v)
    {
        if (v)
            bind(i, *v);
        else
            bind_null(i);
    }
    void bind_null(int i) { sqlite3_bind_null(s_, i); }

    /// sqlite3_step; SQLITE_ROW or SQLITE_DONE on success.
    int step() { return sqlite3_step(s_); }
    void reset() { sqlite3_reset(s_); }

    std::int64_t int64(int col) const { return sqlite3_column_int64(s_, col); }
    double real(int col) const { return sqlite3_column_double(s_, col); }
    bool is_null(int col) const { return sqlite3_column_type(s_, col) == SQLITE_NULL; }
    std::optional<std::int64_t> optional_int64(int col) const
    {
        return is_null(col) ? std::nullopt : std::optional<std::int64_t>(int64(col));
    }
    std::string_view text(int col) const
    {
        const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, col));
        return p ? std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(s_, col)))
                 : std::string_view();
    }
    std::string_view blob(int col) const
    {
        const auto* p = static_cast<const char*>(sqlite3_column_blob(s_, col));
        return p ? std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(s_, col)))
                 : std::string_view();
    }

private:
    sqlite3_stmt* s_ = nullptr;
};

/// "<what> (<path>): <SQLite's message>", the form of every StoreError.
std::string describe(sqlite3* db, std::string_view what, std::string_view path);

/// Prepares `sql` or throws StoreError. `persistent` hints SQLite that the statement lives for the
/// connection.
Stmt prepare(sqlite3* db, std::string_view sql, std::string_view path, bool persistent = false);

/// Runs one or more statements without results; returns the SQLite result code.
inline int exec(sqlite3* db, const char* sql)
{
    return sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
}

/// Runs `sql` or throws StoreError naming `what`.
void exec_or_throw(sqlite3* db, const char* sql, std::string_view what, std::string_view path);

/// The first column of the first row of `sql`, or throws StoreError.
std::int64_t query_int(sqlite3* db, std::string_view sql, std::string_view path);

/// Steps a statement that returns no rows and resets it, or throws StoreError naming `what`.
void step_done(Stmt& s, sqlite3* db, std::string_view what, std::string_view path);

/// Whether `schema` (main, or an attached name) has a table `table`.
bool has_table(sqlite3* db, std::string_view schema, std::string_view table, std::string_view path);

/// Opens `path` with `flags` (plus NOMUTEX and extended result codes) and the busy timeout, or throws
/// StoreError naming the path.
Db open(const std::string& path, int flags, Millis busy_timeout);

/// An SQLite URI for `path` (for ATTACH, and for opening with a mode): `?`, `#` and `%` are escaped, Windows
/// drive paths get their slash; `mode` becomes `?mode=...` when not empty.
std::string file_uri(const std::string& path, std::string_view mode);

/// A success code of sqlite3_step and friends.
inline bool ok(int rc)
{
    return rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW;
}

/// Names the calling thread (Linux: 15 characters at most), so that top, perf and bench_store can tell the
/// store's threads apart.
void name_this_thread(const char* name);

/// A read transaction, ended when it goes out of scope. The snapshot of each database file is taken by the
/// first statement that reads it (WAL), not by BEGIN: see SqliteReader for why the order matters.
class ReadTxn {
public:
    ReadTxn(sqlite3* db, std::string_view path)
        : db_(db)
    {
        exec_or_throw(db_, "BEGIN", "cannot start a read transaction", path);
    }
    ~ReadTxn()
    {
        if (sqlite3_get_autocommit(db_) == 0)
            exec(db_, "COMMIT");
    }
    ReadTxn(const ReadTxn&) = delete;
    ReadTxn& operator=(const ReadTxn&) = delete;

private:
    sqlite3* db_;
};

} // namespace fleetscope::store::sqlite
