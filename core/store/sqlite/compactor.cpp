// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/store/sqlite/compactor.hpp"

#include "core/store/sqlite/batch.hpp"
#include "core/store/sqlite/hooks.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <limits>
#include <tuple>
#include <unordered_map>
#include <vector>

// One compaction round, in one transaction of the main file:
//   1. read the batches (moved_through, through] of the recent file (attached read-only, so the transaction
//      never takes the recent file's write lock, which the writer holds for every commit);
//   2. insert the devices and metrics first seen in them, with the ids the writer gave them;
//   3. insert their readings into `samples`, sorted by (device, metric, ts), so that each series' new rows
//      land side by side in the b-tree and a page takes many rows per write;
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

struct Reading {
    std::int64_t device;
    std::int64_t metric;
    std::int64_t ts;
    double value;
    std::uint64_t order; // commit order, so that repeats of a (device, metric, ts) keep theirs
};

struct DeviceDelta {
    std::int64_t first = std::numeric_limits<std::int64_t>::max();
    std::int64_t last = std::numeric_limits<std::int64_t>::min();
    std::int64_t samples = 0;
};

} // namespace

Compactor::Compactor(Db main, std::string path, std::int64_t moved_through, std::int64_t session)
    : db_(std::move(main))
    , path_(std::move(path))
    , records_(db_.get(), path_)
    , session_(session)
    , moved_(moved_through)
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
    // OR IGNORE spares SQLite a statement journal; a reading that repeats a stored (device, metric, ts, seq)
    // shows as no change, and then takes the next free seq (insert_numbered_).
    insert_sample_ = prepare(h,
                             "INSERT OR IGNORE INTO main.samples(device_id, metric_id, ts, seq, value)"
                             " VALUES (?1, ?2, ?3, ?4, ?5)",
                             path_, true);
    insert_numbered_ = prepare(h,
                               "INSERT INTO main.samples(device_id, metric_id, ts, seq, value)"
                               " VALUES (?1, ?2, ?3, ?4, ?5)",
                               path_, true);
    max_seq_ =
        prepare(h, "SELECT max(seq) FROM main.samples WHERE device_id = ?1 AND metric_id = ?2 AND ts = ?3",
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
    std::unique_lock lock(mutex_);
    for (;;) {
        auto due = [&] {
            return requested_ > moved_.load(std::memory_order_relaxed) && Clock::now() >= retry_at;
        };
        while (!stopping_ && jobs_.empty() && !due()) {
            if (requested_ > moved_.load(std::memory_order_relaxed))
                cv_.wait_until(lock, retry_at);
            else
                cv_.wait(lock);
        }
        if (stopping_)
            return; // stop() finishes on its own thread
        std::deque<MainJob> jobs = std::move(jobs_);
        jobs_.clear();
        const std::int64_t through = requested_;
        const bool compact_now = due();
        lock.unlock();
        run_jobs(jobs);
        if (compact_now)
            retry_at = compact(through) ? Clock::time_point{} : Clock::now() + kRetryAfter;
        lock.lock();
    }
}

void Compactor::run_jobs(std::deque<MainJob>& jobs)
{
    for (MainJob& job : jobs)
        run_job(job);
    jobs.clear();
}

bool Compactor::run_job(const MainJob& job)
{
    // One transaction per job: a job that fails rolls back alone.
    if (!ok(begin_.step())) {
        begin_.reset();
        std::fprintf(stderr, "fleetscope: %s\n", records_.error().c_str());
        return false;
    }
    begin_.reset();
    bool good = false;
    try {
        good = job(records_);
        if (!good)
            std::fprintf(stderr, "fleetscope: %s\n", records_.error().c_str());
    } catch (const StoreError& e) {
        std::fprintf(stderr, "fleetscope: %s\n", e.what());
    }
    Stmt& end = good ? commit_ : rollback_;
    const bool ended = ok(end.step());
    end.reset();
    if (!ended && sqlite3_get_autocommit(db_.get()) == 0) {
        rollback_.step();
        rollback_.reset();
    }
    return good && ended;
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
            on_moved_(last);
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
    std::unordered_map<std::int64_t, DeviceDelta> deltas;
    try {
        const std::int64_t from = query_int(h, "SELECT moved_through FROM main.compaction", path_);
        last = from;
        std::vector<std::pair<std::int64_t, std::string>> devices;
        std::vector<std::pair<std::int64_t, std::string>> metrics;
        read_batches_.bind(1, from);
        read_batches_.bind(2, through);
        std::uint64_t order = 0;
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
                    Reading r{device, 0, ts, 0, order++};
                    batch.next_reading(r.metric, r.value);
                    readings.push_back(r);
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

        std::sort(readings.begin(), readings.end(), [](const Reading& a, const Reading& b) {
            return std::tie(a.device, a.metric, a.ts, a.order) < std::tie(b.device, b.metric, b.ts, b.order);
        });
        const Reading* prev = nullptr;
        std::int64_t seq = 0;
        const Reading* halfway = readings.empty() ? nullptr : &readings[readings.size() / 2];
        for (const Reading& r : readings) {
            if (&r == halfway)
                fault_point("compact.moving");
            const bool repeat =
                prev && prev->device == r.device && prev->metric == r.metric && prev->ts == r.ts;
            seq = repeat ? seq + 1 : 0;
            prev = &r;
            insert_sample_.bind(1, r.device);
            insert_sample_.bind(2, r.metric);
            insert_sample_.bind(3, r.ts);
            insert_sample_.bind(4, seq);
            insert_sample_.bind(5, r.value);
            step_done(insert_sample_, h, "cannot move readings", path_);
            if (sqlite3_changes64(h) != 0)
                continue;
            // The (device, metric, ts) is stored already: number this one after what is there.
            max_seq_.bind(1, r.device);
            max_seq_.bind(2, r.metric);
            max_seq_.bind(3, r.ts);
            if (max_seq_.step() != SQLITE_ROW) {
                max_seq_.reset();
                throw StoreError(describe(h, "cannot number a repeated reading", path_));
            }
            seq = max_seq_.int64(0) + 1;
            max_seq_.reset();
            insert_numbered_.bind(1, r.device);
            insert_numbered_.bind(2, r.metric);
            insert_numbered_.bind(3, r.ts);
            insert_numbered_.bind(4, seq);
            insert_numbered_.bind(5, r.value);
            step_done(insert_numbered_, h, "cannot move a repeated reading", path_);
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
        std::fprintf(stderr, "fleetscope: %s\n", e.what());
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
        std::fprintf(
            stderr,
            "fleetscope: store compaction fails (%s): %s; commits go on, readings wait in the recent "
            "file\n",
            path_.c_str(), sqlite3_errmsg(db_.get()));
    else
        std::fprintf(stderr, "fleetscope: store compaction works again (%s)\n", path_.c_str());
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
    // The thread is gone: its connection is this thread's now.
    std::deque<MainJob> jobs = std::move(jobs_);
    jobs_.clear();
    run_jobs(jobs);
    compact(requested_);
    if (session_ != 0)
        run_job([this](Records& r) { return r.end_session(session_); });
}

} // namespace fleetscope::store::sqlite
