// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/store/sqlite/records.hpp"

#include "core/util/clock.hpp"

namespace fleetscope::store::sqlite {

Records::Records(sqlite3* db, std::string path)
    : db_(db)
    , path_(std::move(path))
{}

util::Error Records::failed(sqlite3* db, std::string_view path)
{
    return util::fail(describe(db, "cannot write the session's records", path));
}

Stmt& Records::statement(Stmt& slot, const char* sql)
{
    if (!slot)
        slot = prepare(db_, sql, path_, true);
    return slot;
}

std::int64_t Records::begin_session(const std::string& app_version, const std::string& settings_json)
{
    // A session still open here ended without stop(): a crash or a kill. Its end is the last thing it is
    // known to have recorded.
    exec_or_throw(db_,
                  "UPDATE sessions SET end_reason = 'crash', ended_at = max(started_at, coalesce("
                  "(SELECT max(ts) FROM timeline WHERE session_id = sessions.id), started_at))"
                  " WHERE ended_at IS NULL",
                  "cannot close the sessions a crash left open", path_);
    Stmt insert =
        prepare(db_, "INSERT INTO sessions(started_at, app_version, settings) VALUES (?1, ?2, ?3)", path_);
    insert.bind(1, util::now_ms());
    insert.bind(2, app_version);
    insert.bind(3, settings_json);
    step_done(insert, db_, "cannot record the session", path_);
    return sqlite3_last_insert_rowid(db_);
}

util::Result<void> Records::end_session(std::int64_t session)
{
    Stmt& end =
        statement(end_session_, "UPDATE sessions SET ended_at = ?2, end_reason = 'stop' WHERE id = ?1");
    end.bind(1, session);
    end.bind(2, util::now_ms());
    const bool good = end.step() == SQLITE_DONE;
    end.reset();
    if (!good)
        return failed(db_, path_);
    return {};
}

util::Result<void> Records::add_mark(const MarkRow& mark)
{
    Stmt& insert = statement(insert_mark_,
                             "INSERT INTO marks(session_id, label, from_ts, to_ts) VALUES (?1, ?2, ?3, ?4)");
    insert.bind(1, mark.session_id);
    insert.bind(2, mark.label);
    insert.bind(3, mark.from_ts);
    insert.bind(4, mark.to_ts);
    const bool good = insert.step() == SQLITE_DONE;
    insert.reset();
    if (!good)
        return failed(db_, path_);
    return {};
}

util::Result<void> Records::add_timeline(std::int64_t session, const std::vector<TimelineRow>& points)
{
    Stmt& insert =
        statement(insert_timeline_,
                  "INSERT OR REPLACE INTO timeline(session_id, series, ts, value) VALUES (?1, ?2, ?3, ?4)");
    for (const TimelineRow& p : points) {
        insert.bind(1, session);
        insert.bind(2, p.series);
        insert.bind(3, p.ts);
        insert.bind(4, p.value);
        const int rc = insert.step();
        insert.reset();
        if (rc != SQLITE_DONE)
            return failed(db_, path_);
    }
    return {};
}

util::Result<void> Records::apply(std::int64_t session, const std::vector<AlertChange>& changes)
{
    for (const AlertChange& c : changes) {
        const AlertRow& a = c.alert;
        Stmt* st = nullptr;
        switch (c.kind) {
        case AlertChange::Kind::raised:
            st = &statement(insert_alert_,
                            "INSERT INTO alerts(id, session_id, rule, subject, severity, raised_at, message)"
                            " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
            st->bind(1, a.id);
            st->bind(2, session);
            st->bind(3, a.rule);
            st->bind(4, a.subject);
            st->bind(5, a.severity);
            st->bind(6, a.raised_at);
            st->bind(7, a.message);
            break;
        case AlertChange::Kind::cleared:
            st = &statement(clear_alert_, "UPDATE alerts SET cleared_at = ?2 WHERE id = ?1");
            st->bind(1, a.id);
            st->bind(2, a.cleared_at.value_or(0));
            break;
        case AlertChange::Kind::acked:
            st = &statement(ack_alert_, "UPDATE alerts SET acked_at = ?2 WHERE id = ?1");
            st->bind(1, a.id);
            st->bind(2, a.acked_at.value_or(0));
            break;
        }
        const int rc = st->step();
        st->reset();
        if (rc != SQLITE_DONE)
            return failed(db_, path_);
    }
    return {};
}

} // namespace fleetscope::store::sqlite
