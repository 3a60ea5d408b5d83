// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/store/pg/connection.hpp"

#include <algorithm>
#include <charconv>
#include <memory>
#include <vector>

namespace fleetscope::store::pg {

namespace {

/// libpq's messages end in a newline and may span several lines; one line reads better in a log or a
/// JSON body.
std::string one_line(std::string_view s)
{
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        if (c == '\n') {
            if (!out.empty() && out.back() != ' ')
                out += "; ";
        } else if (c == '\t') {
            if (!out.empty() && out.back() != ' ')
                out += ' ';
        } else if (c != '\r') {
            out += c;
        }
    }
    while (!out.empty() && (out.back() == ' ' || out.back() == ';'))
        out.pop_back();
    return out;
}

struct OptionsDeleter {
    void operator()(PQconninfoOption* o) const { PQconninfoFree(o); }
};
using ParsedOptions = std::unique_ptr<PQconninfoOption, OptionsDeleter>;

/// SQLSTATE classes and codes that mean the session or the server is gone, not the statement wrong:
/// connection exceptions (08), the server shutting down or restarting (57P01-57P03), too many connections.
bool outage_state(std::string_view state)
{
    return state.starts_with("08") || state == "57P01" || state == "57P02" || state == "57P03" ||
           state == "53300";
}

constexpr std::string_view kExpectedForm =
    "expected postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?PARAM=VALUE&...] (postgres:// too), or "
    "postgresql:KEY=VALUE ... (a libpq conninfo)";

} // namespace

std::int64_t Result::int64(int row, int col) const
{
    const std::string_view t = text(row, col);
    std::int64_t v = 0;
    std::from_chars(t.data(), t.data() + t.size(), v);
    return v;
}

double Result::real(int row, int col) const
{
    const std::string_view t = text(row, col);
    double v = 0;
    std::from_chars(t.data(), t.data() + t.size(), v);
    return v;
}

util::Result<void> check_conninfo(const std::string& conninfo)
{
    char* err = nullptr;
    ParsedOptions opts(PQconninfoParse(conninfo.c_str(), &err));
    if (opts)
        return {};
    std::string msg = err ? one_line(err) : std::string("out of memory");
    PQfreemem(err);
    return util::fail("not a valid PostgreSQL URI or conninfo (" + msg + "); " + std::string(kExpectedForm));
}

std::string describe(const std::string& conninfo)
{
    char* err = nullptr;
    ParsedOptions opts(PQconninfoParse(conninfo.c_str(), &err));
    PQfreemem(err);
    if (!opts)
        return "(an invalid conninfo)";
    std::string host, hostaddr, port, dbname, user;
    for (const PQconninfoOption* o = opts.get(); o->keyword; ++o) {
        if (!o->val)
            continue;
        const std::string_view k = o->keyword;
        if (k == "host")
            host = o->val;
        else if (k == "hostaddr")
            hostaddr = o->val;
        else if (k == "port")
            port = o->val;
        else if (k == "dbname")
            dbname = o->val;
        else if (k == "user")
            user = o->val;
    }
    std::string out =
        "host=" + (host.empty() ? (hostaddr.empty() ? std::string("(default)") : hostaddr) : host);
    out += " port=" + (port.empty() ? std::string("(default)") : port);
    out += " dbname=" + (dbname.empty() ? std::string("(default)") : dbname);
    out += " user=" + (user.empty() ? std::string("(default)") : user);
    return out;
}

Connection Connection::open(const Target& target)
{
    if (auto valid = check_conninfo(target.conninfo); !valid)
        throw PgError("--store: " + valid.error(), "", false);
    // The URI or conninfo is expanded first, and the keywords after it override only what it leaves unset:
    // libpq takes the last value of a keyword, so the user's own connect_timeout or application_name win.
    const std::string timeout =
        std::to_string(std::max<Millis::rep>(2, (target.connect_timeout.count() + 999) / 1000));
    std::vector<const char*> keys{"dbname"};
    std::vector<const char*> values{target.conninfo.c_str()};
    {
        char* err = nullptr;
        ParsedOptions opts(PQconninfoParse(target.conninfo.c_str(), &err));
        PQfreemem(err);
        bool has_timeout = false;
        bool has_name = false;
        for (const PQconninfoOption* o = opts.get(); o && o->keyword; ++o) {
            if (!o->val)
                continue;
            has_timeout |= std::string_view(o->keyword) == "connect_timeout";
            has_name |= std::string_view(o->keyword) == "application_name";
        }
        if (!has_timeout) {
            keys.insert(keys.begin(), "connect_timeout");
            values.insert(values.begin(), timeout.c_str());
        }
        if (!has_name) {
            keys.insert(keys.begin(), "application_name");
            values.insert(values.begin(), target.application_name.c_str());
        }
    }
    keys.push_back(nullptr);
    values.push_back(nullptr);
    Connection c(PQconnectdbParams(keys.data(), values.data(), 1));
    if (!c.c_ || PQstatus(c.c_) != CONNECTION_OK) {
        const std::string why = c.c_ ? one_line(PQerrorMessage(c.c_)) : std::string("out of memory");
        throw PgError("cannot connect to PostgreSQL at " + describe(target.conninfo) + ": " + why, "08001",
                      true);
    }
    // synchronous_commit on: a COMMIT returns only once its WAL is flushed, so a 204 is durable against a
    // crash of the database server too, whatever the server's default. UTC and ISO dates keep what the
    // server prints independent of its locale.
    // Notices (CREATE TABLE IF NOT EXISTS on a table that exists) are not worth a line on stderr; warnings
    // are.
    c.exec("SET synchronous_commit = on; SET TIME ZONE 'UTC'; SET client_min_messages = warning",
           "cannot set the session up");
    c.timeout_ = target.statement_timeout;
    c.restore_timeouts();
    return c;
}

void Connection::set_timeouts(Millis timeout)
{
    const std::string ms = std::to_string(timeout.count());
    const std::string sql = "SET statement_timeout = " + ms + "; SET lock_timeout = " + ms;
    exec(sql.c_str(), "cannot set the statement timeout");
}

PgError Connection::error(const PGresult* result, std::string_view what) const
{
    std::string state;
    std::string msg;
    if (result) {
        if (const char* s = PQresultErrorField(result, PG_DIAG_SQLSTATE))
            state = s;
        msg = one_line(PQresultErrorMessage(result));
    }
    if (msg.empty())
        msg = c_ ? one_line(PQerrorMessage(c_)) : std::string("no connection");
    if (msg.empty())
        msg = "unexpected result " + std::string(PQresStatus(PQresultStatus(result)));
    const bool lost = !c_ || PQstatus(c_) != CONNECTION_OK || outage_state(state);
    return PgError(std::string(what) + ": " + msg, state, lost);
}

Result Connection::check(Result r, std::string_view what) const
{
    const auto st = r.status();
    if (r.get() && (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK))
        return r;
    throw error(r.get(), what);
}

Result Connection::exec(const char* sql, std::string_view what)
{
    return check(Result(PQexec(c_, sql)), what);
}

Result Connection::exec(const char* sql, std::initializer_list<std::optional<std::string_view>> params,
                        std::string_view what)
{
    // PQexecParams takes NUL-terminated text values: copy the views into strings that outlive the call.
    std::vector<std::string> storage;
    storage.reserve(params.size());
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const auto& p : params) {
        if (p) {
            storage.emplace_back(*p);
            values.push_back(storage.back().c_str());
        } else {
            values.push_back(nullptr);
        }
    }
    return check(Result(PQexecParams(c_, sql, static_cast<int>(values.size()), nullptr, values.data(),
                                     nullptr, nullptr, 0)),
                 what);
}

} // namespace fleetscope::store::pg
