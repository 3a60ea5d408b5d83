// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/store/sqlite/retention.hpp"

#include "core/store/types.hpp"

namespace fleetscope::store::sqlite {

namespace {

/// Steps a statement that returns one row and leaves it reset whatever happens.
class OneRow {
public:
    OneRow(Stmt& s, sqlite3* db, std::string_view what, std::string_view path)
        : s_(s)
    {
        if (s_.step() != SQLITE_ROW) {
            s_.reset();
            throw StoreError(describe(db, what, path));
        }
    }
    ~OneRow() { s_.reset(); }
    OneRow(const OneRow&) = delete;
    OneRow& operator=(const OneRow&) = delete;
    const Stmt& row() const { return s_; }

private:
    Stmt& s_;
};

} // namespace

Retention::Retention(sqlite3* main, std::string path, std::int64_t slice)
    : db_(main)
    , path_(std::move(path))
    , slice_(slice)
{
    slice_end_ =
        prepare(db_, "SELECT max(id) FROM (SELECT id FROM main.chunks WHERE id > ?1 ORDER BY id LIMIT ?2)",
                path_, true);
    count_old_ = prepare(db_,
                         "SELECT count(*), total(readings) FROM main.chunks"
                         " WHERE id > ?1 AND id <= ?2 AND last_ts < ?3",
                         path_, true);
    delete_old_ =
        prepare(db_, "DELETE FROM main.chunks WHERE id > ?1 AND id <= ?2 AND last_ts < ?3", path_, true);
    delete_points_ = prepare(db_,
                             "DELETE FROM main.timeline WHERE (session_id, series, ts) IN"
                             " (SELECT session_id, series, ts FROM main.timeline WHERE ts < ?1 LIMIT ?2)",
                             path_, true);
}

void Retention::begin_pass(std::int64_t cutoff_ms)
{
    cutoff_ = cutoff_ms;
    phase_ = Phase::chunks;
    cursor_ = 0;
    totals_ = {};
}

bool Retention::slice()
{
    pending_ = {};
    next_phase_ = phase_;
    next_cursor_ = cursor_;
    if (phase_ == Phase::chunks) {
        slice_end_.bind(1, cursor_);
        slice_end_.bind(2, slice_);
        std::int64_t end = 0;
        bool any = false;
        {
            const OneRow r(slice_end_, db_, "cannot read the chunks retention visits in", path_);
            any = !r.row().is_null(0);
            end = r.row().int64(0);
        }
        if (!any) {
            next_phase_ = Phase::timeline;
        } else {
            count_old_.bind(1, cursor_);
            count_old_.bind(2, end);
            count_old_.bind(3, cutoff_);
            {
                const OneRow r(count_old_, db_, "cannot count the old chunks in", path_);
                pending_.chunks = r.row().int64(0);
                pending_.readings = static_cast<std::int64_t>(r.row().real(1));
            }
            if (pending_.chunks > 0) {
                delete_old_.bind(1, cursor_);
                delete_old_.bind(2, end);
                delete_old_.bind(3, cutoff_);
                step_done(delete_old_, db_, "cannot delete old chunks from", path_);
            }
            next_cursor_ = end;
        }
    } else if (phase_ == Phase::timeline) {
        delete_points_.bind(1, cutoff_);
        delete_points_.bind(2, slice_);
        step_done(delete_points_, db_, "cannot delete old timeline points from", path_);
        pending_.points = sqlite3_changes64(db_);
        if (pending_.points < slice_)
            next_phase_ = Phase::done;
    }
    return next_phase_ != Phase::done;
}

void Retention::committed()
{
    phase_ = next_phase_;
    cursor_ = next_cursor_;
    totals_.chunks += pending_.chunks;
    totals_.readings += pending_.readings;
    totals_.points += pending_.points;
    pending_ = {};
}

} // namespace fleetscope::store::sqlite
