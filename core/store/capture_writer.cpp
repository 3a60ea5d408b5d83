// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/store/capture_writer.hpp"

#include "core/store/sqlite/schema.hpp"

namespace fleetscope::store {

using sqlite::step_done;

CaptureWriter::CaptureWriter(const std::string& path)
    : path_(path)
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
    insert_sample_ = sqlite::prepare(
        h, "INSERT INTO samples(device_id, metric_id, ts, seq, value) VALUES (?1, ?2, ?3, ?4, ?5)", path_,
        true);
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

void CaptureWriter::device(const DeviceRow& row)
{
    begin();
    ++device_;
    insert_device_.bind(1, device_);
    insert_device_.bind(2, row.device);
    insert_device_.bind(3, row.first_seen);
    insert_device_.bind(4, row.last_seen);
    insert_device_.bind(5, row.samples);
    step_done(insert_device_, db_.get(), "cannot write the capture's devices", path_);
    metric_ = -1;
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
    // Readings arrive in (metric, ts) order per device, so a repeated (metric, ts) is adjacent.
    seq_ = (it->second == metric_ && ts == last_ts_) ? seq_ + 1 : 0;
    metric_ = it->second;
    last_ts_ = ts;
    insert_sample_.bind(1, device_);
    insert_sample_.bind(2, metric_);
    insert_sample_.bind(3, ts);
    insert_sample_.bind(4, seq_);
    insert_sample_.bind(5, value);
    step_done(insert_sample_, db_.get(), "cannot write the capture's samples", path_);
}

void CaptureWriter::group_end()
{
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

void CaptureWriter::recount_devices()
{
    sqlite::exec_or_throw(db_.get(),
                          "UPDATE devices SET"
                          " first_seen = (SELECT min(ts) FROM samples WHERE device_id = devices.id),"
                          " last_seen = (SELECT max(ts) FROM samples WHERE device_id = devices.id),"
                          " samples = (SELECT count(DISTINCT ts) FROM samples WHERE device_id = devices.id)",
                          "cannot write the capture's devices", path_);
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
    commit();
    // One self-contained file: the rollback journal, never WAL.
    sqlite::exec_or_throw(db_.get(), "PRAGMA journal_mode = DELETE", "cannot finish the capture", path_);
    db_ = sqlite::Db();
}

} // namespace fleetscope::store
