// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// Thin RAII over libpq, private to core/store/pg. A Connection is used by one thread at a time (libpq
// connections are not thread-safe); the store's writer owns one and its readers lease the others.

#include "core/settings.hpp"
#include "core/store/store.hpp"
#include "core/util/result.hpp"

#include <cstdint>
#include <initializer_list>
#include <libpq-fe.h>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace fleetscope::store::pg {

/// A failed PostgreSQL operation. `connection_lost()` tells an outage (the server went away, restarts, or
/// refuses connections) from an error in the statement itself: the first clears when the server comes back,
/// the second does not.
class PgError : public StoreError {
public:
    PgError(const std::string& message, std::string sqlstate, bool connection_lost)
        : StoreError(message)
        , sqlstate_(std::move(sqlstate))
        , connection_lost_(connection_lost)
    {}
    const std::string& sqlstate() const { return sqlstate_; }
    bool connection_lost() const { return connection_lost_; }
    /// A deadlock or a serialization failure: the transaction may simply be run again.
    bool retryable() const { return sqlstate_ == "40P01" || sqlstate_ == "40001"; }

private:
    std::string sqlstate_;
    bool connection_lost_;
};

/// An owned PGresult.
class Result {
public:
    Result() = default;
    explicit Result(PGresult* r)
        : r_(r)
    {}
    ~Result() { PQclear(r_); }
    Result(Result&& o) noexcept
        : r_(std::exchange(o.r_, nullptr))
    {}
    Result& operator=(Result&& o) noexcept
    {
        std::swap(r_, o.r_);
        return *this;
    }
    Result(const Result&) = delete;
    Result& operator=(const Result&) = delete;

    PGresult* get() const { return r_; }
    ExecStatusType status() const { return PQresultStatus(r_); }
    int rows() const { return PQntuples(r_); }
    bool null(int row, int col) const { return PQgetisnull(r_, row, col) != 0; }
    std::string_view text(int row, int col) const
    {
        return {PQgetvalue(r_, row, col), static_cast<std::size_t>(PQgetlength(r_, row, col))};
    }
    std::int64_t int64(int row, int col) const;
    double real(int row, int col) const;
    std::optional<std::int64_t> optional_int64(int row, int col) const
    {
        return null(row, col) ? std::nullopt : std::optional<std::int64_t>(int64(row, col));
    }
    /// The command tag: "COMMIT", "ROLLBACK", "INSERT 0 3"...
    std::string_view tag() const { return PQcmdStatus(r_); }

private:
    PGresult* r_ = nullptr;
};

/// Where and how to connect.
struct Target {
    std::string conninfo;            // a libpq URI (postgresql://...) or key=value conninfo
    Millis connect_timeout{10'000};  // libpq counts whole seconds, at least 2
    Millis statement_timeout{5'000}; // also the lock timeout: how long a statement waits for the server
    std::string application_name = "fleetscope";
};

/// Checks the form of a URI or conninfo without connecting: nothing when libpq accepts it, else libpq's
/// reason with the expected form.
util::Result<void> check_conninfo(const std::string& conninfo);

/// "host=... port=... dbname=... user=...": where `conninfo` points, never its password, for messages.
std::string describe(const std::string& conninfo);

/// An open session. Owned by one thread at a time.
class Connection {
public:
    Connection() = default;
    ~Connection() { PQfinish(c_); }
    Connection(Connection&& o) noexcept
        : c_(std::exchange(o.c_, nullptr))
        , timeout_(o.timeout_)
    {}
    Connection& operator=(Connection&& o) noexcept
    {
        std::swap(c_, o.c_);
        std::swap(timeout_, o.timeout_);
        return *this;
    }
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    /// Connects and sets the session up (synchronous_commit on, timeouts, UTC). Throws PgError saying where
    /// it tried to connect and libpq's reason: a malformed URI, a server that cannot be reached, a refused
    /// login or a missing database.
    static Connection open(const Target& target);

    PGconn* get() const { return c_; }
    /// False once the server went away (libpq noticed on the last operation).
    bool ok() const { return c_ && PQstatus(c_) == CONNECTION_OK; }

    /// Runs `sql` (one or more statements, no parameters); returns the last result. Throws PgError.
    Result exec(const char* sql, std::string_view what);
    /// One statement with text parameters (nullopt is NULL). Throws PgError.
    Result exec(const char* sql, std::initializer_list<std::optional<std::string_view>> params,
                std::string_view what);

    /// The PgError for a failed `result` (or the connection's own error when it is null).
    PgError error(const PGresult* result, std::string_view what) const;

    /// Sets statement_timeout and lock_timeout; 0 waits without limit.
    void set_timeouts(Millis timeout);
    /// Back to the timeouts the connection was opened with.
    void restore_timeouts() { set_timeouts(timeout_); }

private:
    explicit Connection(PGconn* c)
        : c_(c)
    {}
    Result check(Result r, std::string_view what) const;

    PGconn* c_ = nullptr;
    Millis timeout_{0};
};

/// A PostgreSQL text array literal of `items`: {"a","b"} with quotes and backslashes escaped.
std::string text_array(const auto& items)
{
    std::string out = "{";
    bool first = true;
    for (const auto& item : items) {
        if (!first)
            out += ',';
        first = false;
        out += '"';
        for (char c : std::string_view(item)) {
            if (c == '"' || c == '\\')
                out += '\\';
            out += c;
        }
        out += '"';
    }
    out += '}';
    return out;
}

/// A PostgreSQL array literal of integers: {1,2,3}.
std::string int_array(const auto& items)
{
    std::string out = "{";
    bool first = true;
    for (const auto v : items) {
        if (!first)
            out += ',';
        first = false;
        out += std::to_string(v);
    }
    out += '}';
    return out;
}

} // namespace fleetscope::store::pg
