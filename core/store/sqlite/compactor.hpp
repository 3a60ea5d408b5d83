// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "core/store/sqlite/db.hpp"
#include "core/store/sqlite/records.hpp"
#include "core/store/sqlite/retention.hpp"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace fleetscope::store::sqlite {

/// A write of the main file other than compaction (a mark, timeline points, alert changes), run in a
/// transaction of its own; a failure rolls it back. Must not block on anything but SQLite.
using MainJob = std::function<util::Result<void>(Records&)>;

/// Moves committed batches from the recent file into the main file's `chunks`, and runs the main
/// file's other writes, so that the writer's group commits never wait for either (docs/architecture.md, "The
/// store"). It owns the main file's only write connection, with the recent file attached read-only, on its
/// own thread ("store-compact"); other threads reach it through request() and post(), which hold a mutex for
/// a push.
class Compactor {
public:
    struct Counters {
        std::atomic<std::uint64_t> rounds{0};
        std::atomic<std::uint64_t> readings{0}; // moved
        std::atomic<std::uint64_t> failures{0};
        std::atomic<std::uint64_t> retention_readings{0}; // deleted by retention
    };

    /// `main` is the main file's write connection, migrated, with the recent file attached as `recent_file`.
    /// `moved_through` is compaction.moved_through as read at open.
    /// `retention_slice`: see Options::retention_slice.
    Compactor(Db main, std::string path, std::int64_t moved_through, std::int64_t session,
              std::int64_t retention_slice);
    ~Compactor(); // same as stop()
    Compactor(const Compactor&) = delete;
    Compactor& operator=(const Compactor&) = delete;

    /// Called on the compactor's thread after each committed move with the new moved_through and the number
    /// of series (device, metric) the round touched. Set before start().
    void on_moved(std::function<void(std::int64_t, std::size_t)> f) { on_moved_ = std::move(f); }
    /// Deletes what is older than `days` whole UTC days (retention.hpp), a slice per transaction between
    /// rounds: a pass soon after start() and then every ten minutes. 0 (the default) keeps everything. Set
    /// before start().
    void set_retention(unsigned days) { retention_days_ = days; }
    void start();

    /// Moves every batch up to `through`, then runs a whole retention pass at once; blocks until it ended.
    /// True at once when retention is off; false when a slice failed or the compactor stopped first. Any
    /// thread but the compactor's.
    bool run_retention_now(std::int64_t through);

    /// Asks for every batch with id <= `through` to be moved. Any thread; never blocks on SQLite.
    void request(std::int64_t through);
    /// Queues a main-file write. Any thread; false once stopping.
    bool post(MainJob job);

    /// Runs the queued writes, moves every requested batch (giving up at the first failure, such as another
    /// process's lock outlasting the busy timeout), records the session's end and joins. Idempotent.
    void stop(std::int64_t final_through);

    /// The last batch id moved, as of the last committed move. Any thread.
    std::int64_t moved_through() const { return moved_.load(std::memory_order_acquire); }
    const Counters& counters() const { return counters_; }

private:
    void run();
    void run_jobs(std::deque<MainJob>& jobs);
    /// Runs `job` in a transaction of its own; a failure is logged and rolls back that job alone.
    void run_job(const MainJob& job);
    /// Moves batches (moved_through, through], in rounds of a bounded number of readings. False on the first
    /// failure.
    bool compact(std::int64_t through);
    /// One transaction; returns the last batch id it moved, or -1 on failure (rolled back).
    std::int64_t compact_round(std::int64_t through);
    std::size_t round_series_ = 0; // series the last round touched
    void log_transition(bool failed);
    enum class RetentionStep { more, finished, failed };
    /// One retention slice, or (`whole`) slices until the pass ends; starts a pass when none is under way.
    RetentionStep retention(bool whole);

    Db db_;
    std::string path_;
    Records records_;
    std::int64_t session_;
    std::function<void(std::int64_t, std::size_t)> on_moved_;
    Counters counters_;
    std::atomic<std::int64_t> moved_;

    // Compactor thread only.
    Stmt begin_, commit_, rollback_, read_batches_, insert_device_, insert_metric_, insert_chunk_,
        update_device_, set_moved_;
    bool failing_ = false;
    unsigned retention_days_ = 0;
    Retention retention_;
    bool in_pass_ = false;

    std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<MainJob> jobs_;                          // guarded by mutex_
    std::int64_t requested_ = 0;                        // guarded by mutex_
    bool stopping_ = false;                             // guarded by mutex_
    std::vector<std::promise<bool>> retention_waiters_; // guarded by mutex_: run_retention_now's
    std::mutex stop_mutex_;
    std::thread thread_;
};

} // namespace fleetscope::store::sqlite
