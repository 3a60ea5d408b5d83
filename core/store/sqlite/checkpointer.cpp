// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/store/sqlite/checkpointer.hpp"

#include "core/log.hpp"
#include "core/store/sqlite/db.hpp"


namespace fleetscope::store::sqlite {

namespace {

// How often the checkpointer copies each WAL into its file.
constexpr Millis kCheckpointPeriod{250};

} // namespace

Checkpointer::Checkpointer(std::vector<std::string> paths, Millis busy_timeout)
    : paths_(std::move(paths))
    , busy_timeout_(busy_timeout)
{}

Checkpointer::~Checkpointer()
{
    stop();
}

void Checkpointer::start()
{
    thread_ = std::thread([this] { run(); });
}

void Checkpointer::stop()
{
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    cv_.notify_one();
    if (thread_.joinable())
        thread_.join();
}

void Checkpointer::run()
{
    name_this_thread("store-ckpt");
    // PASSIVE never waits for the writers or for readers; what it cannot copy now it copies on a later round.
    // The writers restart their WAL from its beginning once a round has copied all of it.
    std::vector<Db> dbs;
    for (const std::string& path : paths_) {
        try {
            Db db = open(path, SQLITE_OPEN_READWRITE, busy_timeout_);
            // A connection opens the WAL only with its first read; until then sqlite3_wal_checkpoint_v2 on it
            // is a silent no-op (it returns SQLITE_OK), and the WAL would grow for as long as the store runs.
            query_int(db.get(), "PRAGMA user_version", path);
            dbs.push_back(std::move(db));
        } catch (const StoreError& e) {
            // The writers still commit; the WAL then only grows until the next start checkpoints it.
            log::warning(std::string("store checkpointer disabled for a file: ") + e.what());
            dbs.emplace_back();
        }
    }
    std::vector<bool> failing(dbs.size(), false);
    std::unique_lock lock(mutex_);
    for (;;) {
        cv_.wait_for(lock, kCheckpointPeriod, [this] { return stop_; });
        const bool last = stop_;
        lock.unlock();
        for (std::size_t i = 0; i < dbs.size(); ++i) {
            if (!dbs[i])
                continue;
            // The last round runs after the writers have stopped: TRUNCATE leaves an empty WAL behind.
            const int rc = sqlite3_wal_checkpoint_v2(
                dbs[i].get(), nullptr, last ? SQLITE_CHECKPOINT_TRUNCATE : SQLITE_CHECKPOINT_PASSIVE, nullptr,
                nullptr);
            // A checkpoint that fails (a full disk, an I/O error) leaves the WAL as it is: every commit is
            // still in it, and the next round tries again. SQLITE_BUSY only means another connection holds a
            // lock the round needed (another checkpointer, or at stop another process's write lock).
            const int primary = rc & 0xff;
            const bool failed = rc != SQLITE_OK && primary != SQLITE_BUSY && primary != SQLITE_LOCKED;
            if (failed != failing[i]) {
                if (failed)
                    log::error("store checkpoint fails (" + paths_[i] + "): " + sqlite3_errmsg(dbs[i].get()));
                else
                    log::info("store checkpoint works again (" + paths_[i] + ")");
                failing[i] = failed;
            }
        }
        if (last)
            return;
        lock.lock();
    }
}

} // namespace fleetscope::store::sqlite
