// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "core/metrics/histogram.hpp"
#include "core/store/sqlite/batch.hpp"
#include "core/store/sqlite/db.hpp"
#include "core/store/sqlite/name_ids.hpp"
#include "core/store/types.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace fleetscope::store::sqlite {

/// Group commit into the recent file: each batch of whole requests becomes one row of `recent` (see
/// batch.hpp) in one transaction of that file alone, so a commit never waits for the main file or its
/// compactor. Device and metric ids are given here, in memory, and travel in the batch with their names; the
/// compactor records them in the main file. Asks the compactor to move what gathered, and removes from the
/// recent file what it has moved. Lives on its own thread ("store-writer"), which owns the recent file's
/// write connection; producers reach it through submit() (a mutex held for a push), the compactor through
/// moved().
class RecentWriter {
public:
    /// Opens (creating it when missing) the recent file beside the main file open on `main`, and loads what
    /// it needs from both: the ids given so far, the next batch id, what waits to be moved. `moved_through`
    /// is the main file's compaction.moved_through; `store_id` pairs the two files. Throws StoreError.
    /// `compaction_due(through)` asks for the batches up to `through` to be moved (from the writer's thread).
    RecentWriter(const Options& options, const std::string& main_path, sqlite3* main,
                 std::int64_t moved_through, const std::string& store_id,
                 std::function<void(std::int64_t)> compaction_due);
    ~RecentWriter();
    RecentWriter(const RecentWriter&) = delete;
    RecentWriter& operator=(const RecentWriter&) = delete;

    void start();
    bool submit(std::vector<telemetry::Sample>&& samples, CommitCallback done);
    void set_observer(CommitObserver observer);
    StoreStats stats() const;

    /// Called by the compactor after it committed a move through batch `through`, which touched `series`
    /// series: the batches up to it may go from the recent file, and the next compaction waits for about
    /// kRowsPerSeries readings a series. Any thread.
    void moved(std::int64_t through, std::size_t series);

    /// Commits everything queued, calls every pending callback and joins; returns the last committed batch
    /// id. Idempotent.
    std::int64_t stop();
    /// After stop(), on the caller's thread: removes every moved batch. Best effort.
    void remove_moved();

    const std::string& path() const { return path_; }
    /// The last batch id committed, set before the batch's callbacks run. Any thread.
    std::int64_t committed_through() const { return committed_through_.load(std::memory_order_acquire); }

private:
    struct Request {
        std::vector<telemetry::Sample> samples;
        CommitCallback done;
    };

    void run();
    /// Encodes and commits `batch_` in one transaction: SQLITE_OK once committed, else the primary result
    /// code of the first failure, after a rollback.
    int write_batch();
    /// One transaction removing up to a bounded number of moved batches; false when there is nothing (more)
    /// to remove or it failed.
    bool remove_step();
    int check_quota();
    std::int64_t device_id(const std::string& name);
    std::int64_t metric_id(const std::string& name);
    void forget_new_names();
    void maybe_request_compaction();
    void log_transition(int rc);
    void catch_up_checkpoint();

    Options options_;
    std::string path_;
    std::function<void(std::int64_t)> compaction_due_;

    // Queue.
    std::mutex queue_mutex_;
    std::condition_variable queue_cv_;
    std::deque<Request> queue_;
    std::size_t queued_samples_ = 0;
    bool stopping_ = false;
    bool writer_waiting_ = false;
    CommitObserver observer_;
    std::atomic<std::int64_t> moved_through_;
    std::atomic<std::int64_t> committed_through_{0};

    // Stats.
    std::atomic<std::size_t> stat_queue_{0};
    std::atomic<std::uint64_t> stat_batches_{0};
    std::atomic<std::uint64_t> stat_samples_{0};
    std::atomic<std::uint64_t> stat_requests_{0};
    std::atomic<std::uint64_t> stat_rejected_{0};
    std::atomic<std::uint64_t> stat_failed_{0};
    std::atomic<std::uint32_t> stat_last_batch_{0};
    std::atomic<std::uint32_t> stat_last_commit_us_{0};
    metrics::Histogram commit_latency_; // recorded by the writer, read by stats()

    // Writer thread only (and the constructor before it starts).
    Db db_;
    Db main_reader_; // read-only, for the quota check; open only when Options::max_bytes is set
    Stmt begin_, commit_, rollback_, insert_batch_, remove_batches_, used_pages_, main_used_pages_;
    BatchEncoder encoder_;
    NameIds device_ids_;
    NameIds metric_ids_;
    std::size_t known_devices_ = 0; // names with ids before the batch being written
    std::size_t known_metrics_ = 0;
    std::vector<std::pair<std::string, std::int64_t>> last_metrics_; // the previous sample's, by position
    std::int64_t next_device_ = 1;
    std::int64_t next_metric_ = 1;
    std::int64_t next_batch_ = 1;
    std::int64_t removed_through_ = 0; // every batch up to it is gone from the recent file
    std::chrono::steady_clock::time_point remove_retry_at_{};
    std::vector<Request> batch_;
    // Readings since the last compaction request. A large fleet waits for several readings a series (as the
    // last round counted its series), so that a round does not turn into a chunk per reading.
    std::int64_t pending_rows_ = 0;
    std::atomic<std::size_t> round_series_{0};
    std::int64_t quota_pages_ = 0;
    std::int64_t max_page_count_ = 0; // last set on db_
    int wal_frames_ = 0;              // after the last commit, from the WAL hook
    int last_rc_ = SQLITE_OK;
    std::uint64_t failed_in_a_row_ = 0;

    std::mutex stop_mutex_;
    std::thread thread_;
    std::int64_t last_batch_ = 0; // written by the writer thread, read after join
};

} // namespace fleetscope::store::sqlite
