// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/store/capture_writer.hpp"

#include "core/store/sqlite/schema.hpp"

#include <algorithm>

namespace fleetscope::store {

using sqlite::step_done;

CaptureWriter::CaptureWriter(const std::string& path, bool recount)
    : path_(path)
    , recount_(recount)
    , db_(sqlite::open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, Millis{5'000}))
{
    sqlite3* h = db_.get();
    // The temporary file is deleted on any failure, so it needs no journal; it is synced before the rename
    // instead.
    sqlite::exec_or_throw(h,
                          "PRAGMA page_size = 4096; PRAGMA journal_mode = OFF;"
                          " PRAGMA synchronous = OFF; PRAGMA cache_size = -32768",
                          "cannot set up the capture", path_);
    sqlite::migrate(h, path_);
    insert_chunk_ =
        sqlite::prepare(h,
                        "INSERT INTO chunks(device_id, metric_id, bucket, readings, first_ts, last_ts, data)"
                        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                        path_, true);
    update_device_ = sqlite::prepare(
        h, "UPDATE devices SET first_seen = ?2, last_seen = ?3, samples = ?4 WHERE id = ?1", path_, true);
    insert_device_ = sqlite::prepare(
        h, "INSERT INTO devices(id, name, first_seen, last_seen, samples) VALUES (?1, ?2, ?3, ?4, ?5)", path_,
        true);
    insert_metric_ = sqlite::prepare(h, "INSERT INTO metrics(id, name) VALUES (?1, ?2)", path_, true);
}

void CaptureWriter::begin()
{
    if (!in_transaction_) {
        sqlite::exec_or_throw(db_.get(), "BEGIN", "cannot write the capture", path_);
        in_transaction_ = true;
    }
}

void CaptureWriter::commit()
{
    if (in_transaction_) {
        sqlite::exec_or_throw(db_.get(), "COMMIT", "cannot write the capture", path_);
        in_transaction_ = false;
    }
}

void CaptureWriter::flush_chunk()
{
    if (chunk_.readings() == 0)
        return;
    insert_chunk_.bind(1, device_);
    insert_chunk_.bind(2, metric_);
    insert_chunk_.bind(3, sqlite::bucket_of(chunk_.first_ts()));
    insert_chunk_.bind(4, static_cast<std::int64_t>(chunk_.readings()));
    insert_chunk_.bind(5, chunk_.first_ts());
    insert_chunk_.bind(6, chunk_.last_ts());
    insert_chunk_.bind_blob(7, chunk_.bytes());
    step_done(insert_chunk_, db_.get(), "cannot write the capture's readings", path_);
    chunk_.clear();
}

void CaptureWriter::end_device()
{
    flush_chunk();
    if (!recount_ || device_ == 0 || times_.empty())
        return;
    std::sort(times_.begin(), times_.end());
    update_device_.bind(1, device_);
    update_device_.bind(2, times_.front());
    update_device_.bind(3, times_.back());
    update_device_.bind(
        4, static_cast<std::int64_t>(std::unique(times_.begin(), times_.end()) - times_.begin()));
    step_done(update_device_, db_.get(), "cannot write the capture's devices", path_);
    times_.clear();
}

void CaptureWriter::device(const DeviceRow& row)
{
    begin();
    end_device();
    ++device_;
    insert_device_.bind(1, device_);
    insert_device_.bind(2, row.device);
    insert_device_.bind(3, row.first_seen);
    insert_device_.bind(4, row.last_seen);
    insert_device_.bind(5, row.samples);
    step_done(insert_device_, db_.get(), "cannot write the capture's devices", path_);
}

void CaptureWriter::reading(const std::string& metric, std::int64_t ts, double value)
{
    auto it = metric_ids_.find(metric);
    if (it == metric_ids_.end()) {
        it = metric_ids_.emplace(metric, static_cast<std::int64_t>(metric_ids_.size()) + 1).first;
        insert_metric_.bind(1, it->second);
        insert_metric_.bind(2, metric);
        step_done(insert_metric_, db_.get(), "cannot write the capture's metrics", path_);
    }
    // Readings arrive in (metric, ts) order per device: a chunk ends with its series, its bucket or its size.
    if (chunk_.readings() != 0 &&
        (it->second != metric_ || sqlite::bucket_of(ts) != sqlite::bucket_of(chunk_.first_ts()) ||
         chunk_.readings() == sqlite::kMaxChunkReadings))
        flush_chunk();
    metric_ = it->second;
    chunk_.add(ts, value);
    if (recount_)
        times_.push_back(ts);
}

void CaptureWriter::group_end()
{
    end_device();
    commit();
}

void CaptureWriter::add_sessions(const std::vector<SessionRow>& sessions)
{
    begin();
    sqlite::Stmt st =
        sqlite::prepare(db_.get(),
                        "INSERT INTO sessions(id, started_at, ended_at, end_reason, app_version,"
                        " settings) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                        path_);
    for (const SessionRow& s : sessions) {
        st.bind(1, s.id);
        st.bind(2, s.started_at);
        st.bind(3, s.ended_at);
        if (s.end_reason.empty())
            st.bind_null(4);
        else
            st.bind(4, s.end_reason);
        st.bind(5, s.app_version);
        st.bind(6, s.settings_json);
        step_done(st, db_.get(), "cannot write the capture's sessions", path_);
    }
    commit();
}

void CaptureWriter::add_marks(const std::vector<MarkRow>& marks)
{
    begin();
    sqlite::Stmt st = sqlite::prepare(
        db_.get(), "INSERT INTO marks(id, session_id, label, from_ts, to_ts) VALUES (?1, ?2, ?3, ?4, ?5)",
        path_);
    for (const MarkRow& m : marks) {
        st.bind(1, m.id);
        st.bind(2, m.session_id);
        st.bind(3, m.label);
        st.bind(4, m.from_ts);
        st.bind(5, m.to_ts);
        step_done(st, db_.get(), "cannot write the capture's marks", path_);
    }
    commit();
}

void CaptureWriter::add_alerts(const std::vector<AlertRow>& alerts)
{
    begin();
    sqlite::Stmt st =
        sqlite::prepare(db_.get(),
                        "INSERT INTO alerts(id, session_id, rule, subject, severity, raised_at,"
                        " cleared_at, acked_at, message) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                        path_);
    for (const AlertRow& a : alerts) {
        st.bind(1, a.id);
        st.bind(2, a.session_id);
        st.bind(3, a.rule);
        st.bind(4, a.subject);
        st.bind(5, a.severity);
        st.bind(6, a.raised_at);
        st.bind(7, a.cleared_at);
        st.bind(8, a.acked_at);
        st.bind(9, a.message);
        step_done(st, db_.get(), "cannot write the capture's alerts", path_);
    }
    commit();
}

void CaptureWriter::add_timeline(const TimelineRow& row)
{
    if (!insert_timeline_)
        insert_timeline_ = sqlite::prepare(
            db_.get(), "INSERT INTO timeline(session_id, series, ts, value) VALUES (?1, ?2, ?3, ?4)", path_,
            true);
    begin();
    insert_timeline_.bind(1, row.session_id);
    insert_timeline_.bind(2, row.series);
    insert_timeline_.bind(3, row.ts);
    insert_timeline_.bind(4, row.value);
    step_done(insert_timeline_, db_.get(), "cannot write the capture's timeline", path_);
}

void CaptureWriter::add_timeline_end()
{
    commit();
}

void CaptureWriter::add_meta(const std::vector<std::pair<std::string, std::string>>& rows)
{
    sqlite::Stmt st =
        sqlite::prepare(db_.get(), "INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)", path_);
    for (const auto& [k, v] : rows) {
        st.bind(1, k);
        st.bind(2, v);
        step_done(st, db_.get(), "cannot write the capture's meta", path_);
    }
}

void CaptureWriter::close()
{
    begin();
    end_device();
    commit();
    // One self-contained file: the rollback journal, never WAL.
    sqlite::exec_or_throw(db_.get(), "PRAGMA journal_mode = DELETE", "cannot finish the capture", path_);
    db_ = sqlite::Db();
}

} // namespace fleetscope::store
