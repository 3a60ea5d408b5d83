// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/store/sqlite/compactor.hpp"

#include "core/log.hpp"
#include "core/store/sqlite/batch.hpp"
#include "core/store/sqlite/chunk.hpp"
#include "core/store/sqlite/hooks.hpp"
#include "core/util/clock.hpp"
#include "core/util/iso_time.hpp"

#include <boost/unordered/unordered_flat_map.hpp>

#include <algorithm>
#include <chrono>
#include <limits>
#include <tuple>
#include <vector>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

// One compaction round, in one transaction of the main file:
//   1. read the batches (moved_through, through] of the recent file (attached read-only, so the transaction
//      never takes the recent file's write lock, which the writer holds for every commit);
//   2. insert the devices and metrics first seen in them, with the ids the writer gave them;
//   3. write their readings as chunks (chunk.hpp): one row per series and bucket the round touched, so a
//      reading costs a share of a row;
//   4. add the batches' per-device counts to `devices`;
//   5. set compaction.moved_through to the last batch moved.
// Only the main file is written, so the move and its marker commit atomically; the batches' removal from the
// recent file is the writer's later, separate and idempotent step (SQLite does not commit atomically across
// two WAL files). The main connection runs synchronous=FULL: the round is on disk before the writer is told,
// so a power loss can never keep the removal and lose the move.

namespace fleetscope::store::sqlite {

namespace {

/// Readings moved in one transaction at most: bounds the round's memory and how long it holds the main
/// file's write lock (marks and timeline points wait behind it), while a round still amortises each page it
/// writes over many rows.
constexpr std::size_t kMaxRoundReadings = 524'288;
/// After a failed round (another process's lock, a full disk), the next try waits this long.
constexpr std::chrono::milliseconds kRetryAfter{1'000};
/// The first retention pass runs this long after start (a gateway restarted daily still ages its data out),
/// the next ones this long after the previous pass ended (as the PostgreSQL store).
constexpr std::chrono::milliseconds kRetentionFirst{5'000};
constexpr std::chrono::milliseconds kRetentionPeriod{600'000};
/// Quiet time after a round before the freed memory goes back to the system (release_free_memory).
constexpr std::chrono::milliseconds kTrimAfterIdle{1'000};

/// A round's working set (its readings, series and per-device sums) is megabytes for a large fleet, and is
/// freed when the round ends; glibc keeps freed heap memory resident for reuse, raising its own thresholds
/// after large frees, so without this a gateway whose fleet went quiet would keep its last rounds' peak for
/// good (measured: about 130 bytes per device of a 15,000-device fleet holding idle connections). A busy
/// compactor never waits the quiet time, so a steady load pays nothing.
void release_free_memory()
{
#if defined(__GLIBC__)
    malloc_trim(0);
#endif
}

/// A reading as decoded, in commit order; `series` indexes the round's series table.
struct Reading {
    std::uint32_t series;
    std::int64_t ts;
    double value;
};

struct Series {
    std::int64_t device;
    std::int64_t metric;
    std::uint32_t count = 0;
    std::uint32_t offset = 0; // of its readings in the round's grouped array
};

struct Point {
    std::int64_t ts;
    double value;
};

struct DeviceDelta {
    std::int64_t first = std::numeric_limits<std::int64_t>::max();
    std::int64_t last = std::numeric_limits<std::int64_t>::min();
    std::int64_t samples = 0;
};

} // namespace

Compactor::Compactor(Db main, std::string path, std::int64_t moved_through, std::int64_t session,
                     std::int64_t retention_slice)
    : db_(std::move(main))
    , path_(std::move(path))
    , records_(db_.get(), path_)
    , session_(session)
    , moved_(moved_through)
    , retention_(db_.get(), path_, retention_slice)
{
    sqlite3* h = db_.get();
    begin_ = prepare(h, "BEGIN IMMEDIATE", path_, true);
    commit_ = prepare(h, "COMMIT", path_, true);
    rollback_ = prepare(h, "ROLLBACK", path_, true);
    read_batches_ = prepare(
        h, "SELECT id, batch FROM recent_file.recent WHERE id > ?1 AND id <= ?2 ORDER BY id", path_, true);
    insert_device_ = prepare(h,
                             "INSERT INTO main.devices(id, name, first_seen, last_seen, samples)"
                             " VALUES (?1, ?2, ?3, ?4, 0)",
                             path_, true);
    insert_metric_ = prepare(h, "INSERT INTO main.metrics(id, name) VALUES (?1, ?2)", path_, true);
    insert_chunk_ =
        prepare(h,
                "INSERT INTO main.chunks(device_id, metric_id, bucket, readings, first_ts, last_ts, data)"
                " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                path_, true);
    update_device_ = prepare(h,
                             "UPDATE main.devices SET first_seen = min(first_seen, ?2),"
                             " last_seen = max(last_seen, ?3), samples = samples + ?4 WHERE id = ?1",
                             path_, true);
    set_moved_ = prepare(h, "UPDATE main.compaction SET moved_through = ?1", path_, true);
}

Compactor::~Compactor()
{
    stop(0);
}

void Compactor::start()
{
    thread_ = std::thread([this] { run(); });
}

void Compactor::request(std::int64_t through)
{
    {
        std::lock_guard lock(mutex_);
        if (through <= requested_)
            return;
        requested_ = through;
    }
    cv_.notify_one();
}

bool Compactor::post(MainJob job)
{
    {
        std::lock_guard lock(mutex_);
        if (stopping_)
            return false;
        jobs_.push_back(std::move(job));
    }
    cv_.notify_one();
    return true;
}

void Compactor::run()
{
    name_this_thread("store-compact");
    using Clock = std::chrono::steady_clock;
    Clock::time_point retry_at{};
    bool trim_when_idle = false;
    const bool retaining = retention_days_ > 0;
    Clock::time_point next_retention = Clock::now() + kRetentionFirst; // only when retaining
    std::unique_lock lock(mutex_);
    for (;;) {
        auto due = [&] {
            return requested_ > moved_.load(std::memory_order_relaxed) && Clock::now() >= retry_at;
        };
        auto retention_due = [&] {
            return !retention_waiters_.empty() || (retaining && Clock::now() >= next_retention);
        };
        while (!stopping_ && jobs_.empty() && !due() && !retention_due()) {
            if (requested_ > moved_.load(std::memory_order_relaxed)) {
                cv_.wait_until(lock, retaining ? std::min(retry_at, next_retention) : retry_at);
            } else if (trim_when_idle) {
                if (cv_.wait_for(lock, kTrimAfterIdle) == std::cv_status::timeout && jobs_.empty() &&
                    !stopping_ && requested_ <= moved_.load(std::memory_order_relaxed)) {
                    trim_when_idle = false;
                    lock.unlock();
                    release_free_memory();
                    lock.lock();
                }
            } else if (retaining) {
                cv_.wait_until(lock, next_retention);
            } else {
                cv_.wait(lock);
            }
        }
        if (stopping_)
            return; // stop() finishes on its own thread
        std::deque<MainJob> jobs = std::move(jobs_);
        jobs_.clear();
        const std::int64_t through = requested_;
        const bool compact_now = due();
        std::vector<std::promise<bool>> waiters = std::move(retention_waiters_);
        retention_waiters_.clear();
        const bool retain_now = !waiters.empty() || (retaining && Clock::now() >= next_retention);
        lock.unlock();
        run_jobs(jobs);
        bool moved_all = true;
        if (compact_now) {
            moved_all = compact(through);
            retry_at = moved_all ? Clock::time_point{} : Clock::now() + kRetryAfter;
            trim_when_idle = true;
        }
        if (retain_now) {
            // A pass waited for runs whole (after the move it asked for); otherwise one slice a turn, so that
            // jobs and rounds go on between slices.
            const RetentionStep step = !moved_all && !waiters.empty() ? RetentionStep::failed
                                       : retaining                    ? retention(!waiters.empty())
                                                                      : RetentionStep::finished;
            if (retaining) {
                next_retention = step == RetentionStep::more       ? Clock::now()
                                 : step == RetentionStep::finished ? Clock::now() + kRetentionPeriod
                                                                   : Clock::now() + kRetryAfter;
            }
            for (auto& w : waiters)
                w.set_value(step == RetentionStep::finished);
        }
        lock.lock();
    }
}

bool Compactor::run_retention_now(std::int64_t through)
{
    std::future<bool> done;
    {
        std::lock_guard lock(mutex_);
        if (stopping_)
            return false;
        requested_ = std::max(requested_, through);
        retention_waiters_.emplace_back();
        done = retention_waiters_.back().get_future();
    }
    cv_.notify_one();
    return done.get();
}

Compactor::RetentionStep Compactor::retention(bool whole)
{
    if (!in_pass_) {
        retention_.begin_pass(retention_cutoff(util::now_ms(), retention_days_));
        in_pass_ = true;
    }
    bool more = true;
    do {
        if (!ok(begin_.step())) {
            begin_.reset();
            log::error(describe(db_.get(), "retention: cannot begin a slice in", path_));
            return RetentionStep::failed;
        }
        begin_.reset();
        try {
            more = retention_.slice();
        } catch (const StoreError& e) {
            rollback_.step();
            rollback_.reset();
            log::error(std::string("retention: ") + e.what());
            return RetentionStep::failed;
        }
        const bool committed = ok(commit_.step());
        commit_.reset();
        if (!committed) {
            log::error(describe(db_.get(), "retention: cannot commit a slice in", path_));
            if (sqlite3_get_autocommit(db_.get()) == 0) {
                rollback_.step();
                rollback_.reset();
            }
            return RetentionStep::failed;
        }
        retention_.committed();
    } while (whole && more);
    if (more)
        return RetentionStep::more;
    in_pass_ = false;
    const Retention::Totals& t = retention_.totals();
    counters_.retention_readings.fetch_add(static_cast<std::uint64_t>(t.readings), std::memory_order_relaxed);
    if (t.chunks > 0 || t.points > 0) {
        log::info("retention: deleted " + std::to_string(t.readings) + " reading(s) in " +
                  std::to_string(t.chunks) + " chunk(s) and " + std::to_string(t.points) +
                  " timeline point(s) from before " + util::format_iso_time(retention_.cutoff()) + " (" +
                  path_ + ")");
    }
    return RetentionStep::finished;
}

void Compactor::run_jobs(std::deque<MainJob>& jobs)
{
    for (MainJob& job : jobs)
        run_job(job);
    jobs.clear();
}

void Compactor::run_job(const MainJob& job)
{
    // One transaction per job: a job that fails rolls back alone.
    if (!ok(begin_.step())) {
        begin_.reset();
        log::error(Records::failed(db_.get(), path_).message);
        return;
    }
    begin_.reset();
    bool good = false;
    try {
        const auto done = job(records_);
        good = done.ok();
        if (!good)
            log::error(done.error());
    } catch (const StoreError& e) {
        log::error(e.what());
    }
    Stmt& end = good ? commit_ : rollback_;
    const bool ended = ok(end.step());
    end.reset();
    if (!ended && sqlite3_get_autocommit(db_.get()) == 0) {
        rollback_.step();
        rollback_.reset();
    }
}

bool Compactor::compact(std::int64_t through)
{
    while (moved_.load(std::memory_order_relaxed) < through) {
        const std::int64_t last = compact_round(through);
        log_transition(last < 0);
        if (last < 0) {
            counters_.failures.fetch_add(1, std::memory_order_relaxed);
            return false;
        }
        fault_point("compact.after_commit");
        moved_.store(last, std::memory_order_release);
        counters_.rounds.fetch_add(1, std::memory_order_relaxed);
        if (on_moved_)
            on_moved_(last, round_series_);
        // This connection is the main file's only writer: a PASSIVE checkpoint now, between its rounds,
        // copies what the round added, and lets the next round start the WAL over (the checkpointer thread's
        // rounds cover the rest).
        sqlite3_wal_checkpoint_v2(db_.get(), "main", SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    }
    return true;
}

std::int64_t Compactor::compact_round(std::int64_t through)
{
    sqlite3* h = db_.get();
    if (!ok(begin_.step())) {
        begin_.reset();
        return -1;
    }
    begin_.reset();
    bool good = true;
    std::int64_t last = -1;
    std::vector<Reading> readings;
    std::vector<Series> series;
    boost::unordered_flat_map<std::pair<std::int64_t, std::int64_t>, std::uint32_t> series_index;
    boost::unordered_flat_map<std::int64_t, DeviceDelta> deltas;
    try {
        const std::int64_t from = query_int(h, "SELECT moved_through FROM main.compaction", path_);
        last = from;
        std::vector<std::pair<std::int64_t, std::string>> devices;
        std::vector<std::pair<std::int64_t, std::string>> metrics;
        read_batches_.bind(1, from);
        read_batches_.bind(2, through);
        int rc;
        while (readings.size() < kMaxRoundReadings && (rc = read_batches_.step()) == SQLITE_ROW) {
            last = read_batches_.int64(0);
            BatchDecoder batch(read_batches_.blob(1), path_);
            std::int64_t id;
            std::string_view name;
            while (batch.next_device(id, name))
                devices.emplace_back(id, std::string(name));
            while (batch.next_metric(id, name))
                metrics.emplace_back(id, std::string(name));
            std::int64_t device;
            std::int64_t ts;
            std::size_t n;
            while (batch.next_sample(device, ts, n)) {
                DeviceDelta& d = deltas[device];
                d.first = std::min(d.first, ts);
                d.last = std::max(d.last, ts);
                ++d.samples;
                for (std::size_t i = 0; i < n; ++i) {
                    std::int64_t metric;
                    double value;
                    batch.next_reading(metric, value);
                    const auto [it, added] =
                        series_index.try_emplace({device, metric}, static_cast<std::uint32_t>(series.size()));
                    if (added)
                        series.push_back(Series{device, metric});
                    ++series[it->second].count;
                    readings.push_back(Reading{it->second, ts, value});
                }
            }
        }
        read_batches_.reset();
        // Every batch up to `through` was committed before it was requested; none found means they were
        // moved and removed already.
        if (readings.empty() && deltas.empty() && devices.empty())
            last = std::max(last, through);

        for (const auto& [id, name] : devices) {
            const auto it = deltas.find(id);
            insert_device_.bind(1, id);
            insert_device_.bind(2, name);
            insert_device_.bind(3, it == deltas.end() ? std::int64_t{0} : it->second.first);
            insert_device_.bind(4, it == deltas.end() ? std::int64_t{0} : it->second.last);
            step_done(insert_device_, h, "cannot record device " + name, path_);
        }
        for (const auto& [id, name] : metrics) {
            insert_metric_.bind(1, id);
            insert_metric_.bind(2, name);
            step_done(insert_metric_, h, "cannot record metric " + name, path_);
        }

        // Grouped by series, in (device, metric) order, each series' readings in commit order: a counting
        // sort by series, then a sort by ts only of the series that need one (devices mostly send in order).
        std::vector<std::uint32_t> by_key(series.size());
        for (std::uint32_t i = 0; i < by_key.size(); ++i)
            by_key[i] = i;
        std::sort(by_key.begin(), by_key.end(), [&](std::uint32_t a, std::uint32_t b) {
            return std::tie(series[a].device, series[a].metric) <
                   std::tie(series[b].device, series[b].metric);
        });
        std::uint32_t offset = 0;
        for (const std::uint32_t i : by_key) {
            series[i].offset = offset;
            offset += series[i].count;
        }
        std::vector<Point> points(readings.size());
        {
            std::vector<std::uint32_t> next(series.size());
            for (std::uint32_t i = 0; i < series.size(); ++i)
                next[i] = series[i].offset;
            for (const Reading& r : readings)
                points[next[r.series]++] = Point{r.ts, r.value};
        }

        // One chunk per series and bucket (at most kMaxChunkReadings readings each), readings in ts order
        // and, for one ts, in commit order.
        ChunkEncoder chunk;
        std::int64_t device = 0;
        std::int64_t metric = 0;
        std::size_t written = 0;
        auto flush = [&] {
            if (chunk.readings() == 0)
                return;
            if (written <= readings.size() / 2 && written + chunk.readings() > readings.size() / 2)
                fault_point("compact.moving");
            insert_chunk_.bind(1, device);
            insert_chunk_.bind(2, metric);
            insert_chunk_.bind(3, bucket_of(chunk.first_ts()));
            insert_chunk_.bind(4, static_cast<std::int64_t>(chunk.readings()));
            insert_chunk_.bind(5, chunk.first_ts());
            insert_chunk_.bind(6, chunk.last_ts());
            insert_chunk_.bind_blob(7, chunk.bytes());
            step_done(insert_chunk_, h, "cannot move readings", path_);
            written += chunk.readings();
            chunk.clear();
        };
        for (const std::uint32_t i : by_key) {
            const Series& sr = series[i];
            const auto begin = points.begin() + sr.offset;
            const auto end = begin + sr.count;
            auto by_ts = [](const Point& a, const Point& b) { return a.ts < b.ts; };
            if (!std::is_sorted(begin, end, by_ts))
                std::stable_sort(begin, end, by_ts);
            device = sr.device;
            metric = sr.metric;
            for (auto p = begin; p != end; ++p) {
                if (chunk.readings() == kMaxChunkReadings ||
                    (chunk.readings() != 0 && bucket_of(p->ts) != bucket_of(chunk.first_ts())))
                    flush();
                chunk.add(p->ts, p->value);
            }
            flush();
        }
        for (const auto& [device, d] : deltas) {
            update_device_.bind(1, device);
            update_device_.bind(2, d.first);
            update_device_.bind(3, d.last);
            update_device_.bind(4, d.samples);
            step_done(update_device_, h, "cannot count the moved samples", path_);
        }
        set_moved_.bind(1, last);
        step_done(set_moved_, h, "cannot record the compaction", path_);
        fault_point("compact.before_commit");
        good = ok(commit_.step());
        commit_.reset();
    } catch (const StoreError& e) {
        read_batches_.reset();
        log::error(e.what());
        good = false;
    }
    if (!good) {
        if (sqlite3_get_autocommit(h) == 0) {
            rollback_.step();
            rollback_.reset();
        }
        return -1;
    }
    counters_.readings.fetch_add(readings.size(), std::memory_order_relaxed);
    round_series_ = series.size();
    return last;
}

void Compactor::log_transition(bool failed)
{
    // One line when compaction starts failing and one when it works again: another process's lock or a full
    // disk fails every round until it goes. The readings stay in the recent file meanwhile, read from there.
    if (failed == failing_)
        return;
    failing_ = failed;
    if (failed)
        log::warning("store compaction fails (" + path_ + "): " + sqlite3_errmsg(db_.get()) +
                     "; commits go on, readings wait in the recent file");
    else
        log::info("store compaction works again (" + path_ + ")");
}

void Compactor::stop(std::int64_t final_through)
{
    std::lock_guard stop_lock(stop_mutex_);
    {
        std::lock_guard lock(mutex_);
        if (stopping_ && !thread_.joinable())
            return;
        stopping_ = true;
        requested_ = std::max(requested_, final_through);
    }
    cv_.notify_one();
    if (thread_.joinable())
        thread_.join();
    for (auto& w : retention_waiters_)
        w.set_value(false);
    retention_waiters_.clear();
    // The thread is gone: its connection is this thread's now.
    std::deque<MainJob> jobs = std::move(jobs_);
    jobs_.clear();
    run_jobs(jobs);
    compact(requested_);
    if (session_ != 0)
        run_job([this](Records& r) { return r.end_session(session_); });
}

} // namespace fleetscope::store::sqlite
