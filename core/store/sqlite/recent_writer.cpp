// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/store/sqlite/recent_writer.hpp"

#include "core/log.hpp"
#include "core/store/sqlite/hooks.hpp"
#include "core/store/sqlite/schema.hpp"

#include <algorithm>
#include <chrono>
#include <iterator>

namespace fleetscope::store::sqlite {

namespace {

using Clock = std::chrono::steady_clock;

// Readings the recent file gathers before the compactor is asked to move them: Options::compact_readings, or
// kRowsPerSeries for each series (device, metric) the last round touched, up to kMaxCompactRows. A round
// writes a chunk per series: a large fleet that waited for only a reading or two per series would pay a row
// per reading again. Larger rounds also make readers decode more of the recent file.
constexpr std::int64_t kRowsPerSeries = 8;
constexpr std::int64_t kMaxCompactRows = 262'144;
// Moved batches removed per transaction, so that one removal never holds a commit up for long; after a
// removal fails (another process's lock), the next waits this long unless a commit comes first.
constexpr std::int64_t kRemoveBatches = 64;
constexpr std::chrono::milliseconds kRemoveRetry{1'000};
constexpr int kCacheKiB = 8 * 1024;
// WAL frames (pages) past which the writer catches up on the checkpoint itself, and the WAL file size it
// trims back to when it starts the WAL over: about 32 MiB of 4 KiB pages. A kill -9 makes the next start read
// the whole WAL, and a WAL that never starts over fills the disk.
constexpr int kWalRestartFrames = 8'192;
constexpr int kWalLimitBytes = kWalRestartFrames * 4'096;

void set_pragma(sqlite3* db, const std::string& pragma, const std::string& path)
{
    exec_or_throw(db, pragma.c_str(), "cannot set " + pragma, path);
}

} // namespace

RecentWriter::RecentWriter(const Options& options, const std::string& main_path, sqlite3* main,
                           std::int64_t moved_through, const std::string& store_id,
                           std::function<void(std::int64_t)> compaction_due)
    : options_(options)
    , path_(recent_path(main_path))
    , compaction_due_(std::move(compaction_due))
    , moved_through_(moved_through)
{
    db_ = open(path_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, options_.busy_timeout);
    sqlite3* h = db_.get();
    // Checked first: a file that is not a database fails here with SQLite's "file is not a database".
    if (query_int(h, "PRAGMA user_version", path_) == 0)
        set_pragma(h, "PRAGMA page_size = 4096", path_);
    {
        Stmt wal = prepare(h, "PRAGMA journal_mode = WAL", path_);
        if (wal.step() != SQLITE_ROW || wal.text(0) != "wal")
            throw StoreError(describe(h, "cannot switch the recent file to WAL journal mode", path_));
    }
    set_pragma(h, "PRAGMA synchronous = NORMAL", path_);
    // Debian's SQLite zeroes what it deletes (SQLITE_SECURE_DELETE): removing moved batches would then
    // rewrite every page they held. What they held is in the main file anyway.
    set_pragma(h, "PRAGMA secure_delete = OFF", path_);
    set_pragma(h, "PRAGMA cache_size = -" + std::to_string(kCacheKiB), path_);
    set_pragma(h, "PRAGMA wal_autocheckpoint = 0", path_); // the checkpointer thread does it
    set_pragma(h, "PRAGMA journal_size_limit = " + std::to_string(kWalLimitBytes), path_);
    sqlite3_wal_hook(
        h,
        [](void* self, sqlite3*, const char*, int frames) {
            static_cast<RecentWriter*>(self)->wal_frames_ = frames;
            return SQLITE_OK;
        },
        this);
    migrate_recent(h, path_);

    // The recent file belongs to one main file: batches of another store's ids must never be moved here.
    {
        Stmt st = prepare(h, "SELECT value FROM meta WHERE key = 'store_id'", path_);
        if (st.step() == SQLITE_ROW) {
            if (st.text(0) != store_id)
                throw StoreError("the recent file " + path_ + " belongs to another database (store id " +
                                 std::string(st.text(0)) + ", the database's is " + store_id +
                                 "); move it away, or put back the database it belongs to");
        } else {
            st = Stmt();
            Stmt set = prepare(h, "INSERT INTO meta(key, value) VALUES ('store_id', ?1)", path_);
            set.bind(1, store_id);
            step_done(set, h, "cannot record the store id", path_);
        }
    }

    // The ids given so far: the main file's, then those of batches not moved yet.
    {
        Stmt st = prepare(main, "SELECT id, name FROM main.devices", main_path);
        while (st.step() == SQLITE_ROW) {
            device_ids_.add(st.text(1), st.int64(0));
            next_device_ = std::max(next_device_, st.int64(0) + 1);
        }
        st = prepare(main, "SELECT id, name FROM main.metrics", main_path);
        while (st.step() == SQLITE_ROW) {
            metric_ids_.add(st.text(1), st.int64(0));
            next_metric_ = std::max(next_metric_, st.int64(0) + 1);
        }
    }
    {
        ReadTxn txn(h, path_);
        removed_through_ = query_int(h, "SELECT coalesce(min(id), 1) - 1 FROM recent", path_);
        // Ids only grow, even when `recent` is empty or was lost: a batch id the compactor has already passed
        // would be skipped by every reader.
        next_batch_ =
            std::max(query_int(h, "SELECT coalesce(max(id), 0) FROM recent", path_), moved_through) + 1;
        Stmt st = prepare(h, "SELECT id, batch FROM recent WHERE id > ?1 ORDER BY id", path_);
        st.bind(1, moved_through);
        int rc;
        while ((rc = st.step()) == SQLITE_ROW) {
            BatchDecoder batch(st.blob(1), path_);
            std::int64_t id;
            std::string_view name;
            while (batch.next_device(id, name)) {
                device_ids_.add(name, id);
                next_device_ = std::max(next_device_, id + 1);
            }
            while (batch.next_metric(id, name)) {
                metric_ids_.add(name, id);
                next_metric_ = std::max(next_metric_, id + 1);
            }
            std::int64_t device;
            std::int64_t ts;
            std::size_t n;
            while (batch.next_sample(device, ts, n)) {
                for (std::size_t i = 0; i < n; ++i) {
                    std::int64_t metric;
                    double value;
                    batch.next_reading(metric, value);
                    ++pending_rows_;
                }
            }
        }
        if (rc != SQLITE_DONE)
            throw StoreError(describe(h, "cannot read the recent file", path_));
    }
    last_batch_ = next_batch_ - 1;
    committed_through_.store(last_batch_, std::memory_order_relaxed);

    if (options_.max_bytes != 0) {
        // The quota covers both files, counted in pages in use: the main file's are read before each batch
        // (another program may fill it), the recent file's here.
        main_reader_ = open(main_path, SQLITE_OPEN_READONLY, options_.busy_timeout);
        const std::string used = "SELECT (SELECT page_count FROM pragma_page_count) -"
                                 " (SELECT freelist_count FROM pragma_freelist_count),"
                                 " (SELECT page_count FROM pragma_page_count)";
        main_used_pages_ = prepare(main_reader_.get(), used, main_path, true);
        used_pages_ = prepare(h, used, path_, true);
        const auto page = query_int(h, "PRAGMA page_size", path_);
        quota_pages_ = std::max<std::int64_t>(1, static_cast<std::int64_t>(options_.max_bytes) / page);
    }

    begin_ = prepare(h, "BEGIN IMMEDIATE", path_, true);
    commit_ = prepare(h, "COMMIT", path_, true);
    rollback_ = prepare(h, "ROLLBACK", path_, true);
    insert_batch_ = prepare(h, "INSERT INTO recent(id, batch) VALUES (?1, ?2)", path_, true);
    remove_batches_ = prepare(h, "DELETE FROM recent WHERE id > ?1 AND id <= ?2", path_, true);
}

RecentWriter::~RecentWriter()
{
    stop();
}

void RecentWriter::start()
{
    // Whatever waited in the recent file at open is the first compaction's, if there is enough of it.
    maybe_request_compaction();
    thread_ = std::thread([this] { run(); });
}

bool RecentWriter::submit(std::vector<telemetry::Sample>&& samples, CommitCallback done)
{
    const std::size_t n = samples.size();
    bool wake = false;
    {
        std::lock_guard lock(queue_mutex_);
        if (stopping_)
            return false;
        if (queued_samples_ + n > options_.queue_samples) {
            stat_rejected_.fetch_add(1, std::memory_order_relaxed);
            return false;
        }
        queue_.push_back(Request{std::move(samples), std::move(done)});
        queued_samples_ += n;
        stat_queue_.store(queued_samples_, std::memory_order_relaxed);
        wake = writer_waiting_;
    }
    if (wake)
        queue_cv_.notify_one();
    return true;
}

void RecentWriter::set_observer(CommitObserver observer)
{
    std::lock_guard lock(queue_mutex_);
    observer_ = std::move(observer);
}

void RecentWriter::moved(std::int64_t through, std::size_t series)
{
    round_series_.store(series, std::memory_order_relaxed);
    bool wake = false;
    {
        std::lock_guard lock(queue_mutex_);
        moved_through_.store(through, std::memory_order_release);
        wake = writer_waiting_;
    }
    if (wake)
        queue_cv_.notify_one();
}

StoreStats RecentWriter::stats() const
{
    StoreStats st;
    st.queue_samples = stat_queue_.load(std::memory_order_relaxed);
    st.batches = stat_batches_.load(std::memory_order_relaxed);
    st.committed_samples = stat_samples_.load(std::memory_order_relaxed);
    st.committed_requests = stat_requests_.load(std::memory_order_relaxed);
    st.rejected_overload = stat_rejected_.load(std::memory_order_relaxed);
    st.failed_batches = stat_failed_.load(std::memory_order_relaxed);
    st.last_batch_samples = stat_last_batch_.load(std::memory_order_relaxed);
    st.last_commit_us = stat_last_commit_us_.load(std::memory_order_relaxed);
    st.commit_latency = commit_latency_.counts();
    return st;
}

std::int64_t RecentWriter::stop()
{
    std::lock_guard stop_lock(stop_mutex_);
    {
        std::lock_guard lock(queue_mutex_);
        stopping_ = true;
    }
    queue_cv_.notify_one();
    if (thread_.joinable())
        thread_.join();
    return last_batch_;
}

void RecentWriter::remove_moved()
{
    while (remove_step()) {
    }
}

std::int64_t RecentWriter::device_id(const std::string& name)
{
    if (const std::int64_t known = device_ids_.find(name); known != NameIds::kNone)
        return known;
    const std::int64_t id = next_device_++;
    device_ids_.add(name, id);
    encoder_.new_device(id, name);
    return id;
}

std::int64_t RecentWriter::metric_id(const std::string& name)
{
    if (const std::int64_t known = metric_ids_.find(name); known != NameIds::kNone)
        return known;
    const std::int64_t id = next_metric_++;
    metric_ids_.add(name, id);
    encoder_.new_metric(id, name);
    return id;
}

void RecentWriter::forget_new_names()
{
    // The batch that gave these ids rolled back: nothing durable names them, so they are given again.
    next_device_ -= static_cast<std::int64_t>(device_ids_.size() - known_devices_);
    next_metric_ -= static_cast<std::int64_t>(metric_ids_.size() - known_metrics_);
    device_ids_.truncate(known_devices_);
    metric_ids_.truncate(known_metrics_);
    last_metrics_.clear();
}

int RecentWriter::check_quota()
{
    // Refuses a batch once what both files hold in use reaches the quota, and lets the recent file grow by no
    // more than the room left: a batch that would pass it fails with SQLITE_FULL, as on a full disk.
    auto used = [](Stmt& st, std::int64_t& in_use, std::int64_t& pages) {
        const int rc = st.step();
        if (rc == SQLITE_ROW) {
            in_use = st.int64(0);
            pages = st.int64(1);
        }
        st.reset();
        return rc == SQLITE_ROW ? SQLITE_OK : rc;
    };
    std::int64_t main_used = 0;
    std::int64_t main_pages = 0;
    std::int64_t recent_used = 0;
    std::int64_t recent_pages = 0;
    if (const int rc = used(main_used_pages_, main_used, main_pages); rc != SQLITE_OK)
        return rc;
    if (const int rc = used(used_pages_, recent_used, recent_pages); rc != SQLITE_OK)
        return rc;
    const std::int64_t room = quota_pages_ - main_used - recent_used;
    if (room <= 0)
        return SQLITE_FULL;
    const std::int64_t cap = recent_pages + room;
    if (cap != max_page_count_) {
        const std::string pragma = "PRAGMA max_page_count = " + std::to_string(cap);
        exec(db_.get(), pragma.c_str());
        max_page_count_ = cap;
    }
    return SQLITE_OK;
}

int RecentWriter::write_batch()
{
    encoder_.clear();
    known_devices_ = device_ids_.size();
    known_metrics_ = metric_ids_.size();
    std::int64_t rows = 0;
    for (const Request& r : batch_) {
        for (const telemetry::Sample& s : r.samples) {
            const std::int64_t device = device_id(s.device);
            encoder_.sample(device, s.ts_ms, s.metrics.size());
            for (std::size_t i = 0; i < s.metrics.size(); ++i) {
                const telemetry::Metric& m = s.metrics[i];
                // Most devices send the same metrics in the same order: the previous sample's names, compared
                // first, spare a hash lookup per reading.
                std::int64_t metric;
                if (i < last_metrics_.size() && last_metrics_[i].first == m.name) {
                    metric = last_metrics_[i].second;
                } else {
                    metric = metric_id(m.name);
                    if (i < last_metrics_.size())
                        last_metrics_[i] = {m.name, metric};
                    else
                        last_metrics_.emplace_back(m.name, metric);
                }
                encoder_.reading(metric, m.value);
            }
            rows += static_cast<std::int64_t>(s.metrics.size());
        }
    }
    const std::string_view bytes = encoder_.finish();

    int rc = quota_pages_ != 0 ? check_quota() : SQLITE_OK;
    if (rc == SQLITE_OK) {
        rc = begin_.step();
        begin_.reset();
        if (ok(rc)) {
            insert_batch_.bind(1, next_batch_);
            insert_batch_.bind_blob(2, bytes);
            rc = insert_batch_.step();
            insert_batch_.reset();
            if (ok(rc)) {
                fault_point("commit.before_commit");
                rc = commit_.step();
                commit_.reset();
            }
            if (!ok(rc)) {
                // SQLite may already have rolled back (it does on some SQLITE_FULL and I/O errors); a COMMIT
                // that failed with SQLITE_BUSY leaves the transaction open.
                rc = sqlite3_errcode(db_.get());
                if (sqlite3_get_autocommit(db_.get()) == 0) {
                    rollback_.step();
                    rollback_.reset();
                }
            }
        }
    }
    if (!ok(rc)) {
        forget_new_names();
        return (rc & 0xff) == SQLITE_OK ? SQLITE_ERROR : rc & 0xff;
    }
    fault_point("commit.after_commit");
    last_batch_ = next_batch_++;
    committed_through_.store(last_batch_, std::memory_order_release);
    pending_rows_ += rows;
    return SQLITE_OK;
}

void RecentWriter::maybe_request_compaction()
{
    const auto least = static_cast<std::int64_t>(options_.compact_readings);
    const std::int64_t wanted =
        std::clamp(kRowsPerSeries * static_cast<std::int64_t>(round_series_.load(std::memory_order_relaxed)),
                   least, std::max(least, kMaxCompactRows));
    if (pending_rows_ < wanted)
        return;
    compaction_due_(last_batch_);
    pending_rows_ = 0;
}

bool RecentWriter::remove_step()
{
    const std::int64_t moved = moved_through_.load(std::memory_order_acquire);
    if (removed_through_ >= moved)
        return false;
    const std::int64_t upto = std::min(moved, removed_through_ + kRemoveBatches);
    // Idempotent: what it removes is in the main file already, and a step that fails (or a kill) leaves the
    // batches for a later step, which readers skip meanwhile.
    bool good = ok(begin_.step());
    begin_.reset();
    if (good) {
        remove_batches_.bind(1, removed_through_);
        remove_batches_.bind(2, upto);
        good = ok(remove_batches_.step());
        remove_batches_.reset();
    }
    if (good) {
        fault_point("remove.before_commit");
        good = ok(commit_.step());
        commit_.reset();
    }
    if (!good) {
        if (sqlite3_get_autocommit(db_.get()) == 0) {
            rollback_.step();
            rollback_.reset();
        }
        remove_retry_at_ = Clock::now() + kRemoveRetry;
        return false;
    }
    removed_through_ = upto;
    return true;
}

void RecentWriter::run()
{
    name_this_thread("store-writer");
    for (;;) {
        batch_.clear();
        {
            std::unique_lock lock(queue_mutex_);
            for (;;) {
                if (!queue_.empty() || stopping_)
                    break;
                const bool removal = moved_through_.load(std::memory_order_relaxed) > removed_through_;
                if (removal && Clock::now() >= remove_retry_at_)
                    break;
                writer_waiting_ = true;
                if (removal)
                    queue_cv_.wait_until(lock, remove_retry_at_);
                else
                    queue_cv_.wait(lock);
                writer_waiting_ = false;
            }
            if (queue_.empty() && stopping_)
                break;
            std::size_t taken = 0;
            // Whole requests only, and at least one even when it alone exceeds the batch bound.
            while (!queue_.empty() &&
                   (batch_.empty() || taken + queue_.front().samples.size() <= options_.max_batch_samples)) {
                taken += queue_.front().samples.size();
                batch_.push_back(std::move(queue_.front()));
                queue_.pop_front();
            }
            queued_samples_ -= taken;
            stat_queue_.store(queued_samples_, std::memory_order_relaxed);
        }
        if (batch_.empty()) {
            remove_step();
            continue;
        }

        const auto t0 = Clock::now();
        const int rc = write_batch();
        const bool committed = rc == SQLITE_OK;
        const auto us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count();
        std::size_t samples = 0;
        for (const Request& r : batch_)
            samples += r.samples.size();
        if (committed) {
            stat_batches_.fetch_add(1, std::memory_order_relaxed);
            stat_samples_.fetch_add(samples, std::memory_order_relaxed);
            stat_requests_.fetch_add(batch_.size(), std::memory_order_relaxed);
            stat_last_batch_.store(static_cast<std::uint32_t>(samples), std::memory_order_relaxed);
            stat_last_commit_us_.store(static_cast<std::uint32_t>(us), std::memory_order_relaxed);
            commit_latency_.record(std::chrono::microseconds(us));
        } else {
            stat_failed_.fetch_add(1, std::memory_order_relaxed);
        }
        log_transition(rc);
        const CommitStatus status = committed             ? CommitStatus::committed
                                    : rc == SQLITE_FULL   ? CommitStatus::full
                                    : rc == SQLITE_BUSY   ? CommitStatus::locked
                                    : rc == SQLITE_LOCKED ? CommitStatus::locked
                                                          : CommitStatus::failed;
        for (Request& r : batch_) {
            if (r.done)
                r.done(status);
        }
        if (committed) {
            if (observer_) {
                for (const Request& r : batch_)
                    observer_(r.samples);
            }
            maybe_request_compaction();
            // After a failed batch the recent file is most likely still unwritable: removals wait.
            remove_step();
        }
        if (wal_frames_ > kWalRestartFrames)
            catch_up_checkpoint();
    }
    batch_.clear();
}

void RecentWriter::catch_up_checkpoint()
{
    // The checkpointer's rounds copy the WAL but seldom let it start over under sustained load: that needs
    // a round to end with every frame copied before the writer's next commit, and the writer appends during
    // nearly every round. Here no commit can interleave, so a PASSIVE round that copies the rest (most of it
    // is copied already) lets the next commit start the WAL from its beginning. It never waits: a busy
    // checkpointer or a reader pinning old frames just means another try after the next commit.
    int frames = 0;
    int copied = 0;
    if (sqlite3_wal_checkpoint_v2(db_.get(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &frames, &copied) ==
            SQLITE_OK &&
        copied == frames)
        wal_frames_ = 0;
}

void RecentWriter::log_transition(int rc)
{
    // One line when commits start failing and one when they resume, not one per batch: a full disk fails
    // every batch until someone frees space.
    if (rc != SQLITE_OK) {
        if (failed_in_a_row_++ == 0 || rc != last_rc_)
            log::error("store commits fail (" + path_ + "): " + sqlite3_errstr(rc) +
                       "; answering 503 until they succeed");
    } else if (failed_in_a_row_ != 0) {
        log::info("store commits resumed (" + path_ + ") after " + std::to_string(failed_in_a_row_) +
                  " failed batches");
        failed_in_a_row_ = 0;
    }
    last_rc_ = rc;
}

} // namespace fleetscope::store::sqlite
