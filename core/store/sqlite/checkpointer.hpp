// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "core/settings.hpp"

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace fleetscope::store::sqlite {

/// Copies the WAL of each file back into it on a connection of its own, so that the fsyncs a checkpoint
/// costs never stall a commit (the writing connections run with wal_autocheckpoint = 0). Lives on its own
/// thread ("store-ckpt"); start() and stop() are called by the store's owner.
class Checkpointer {
public:
    Checkpointer(std::vector<std::string> paths, Millis busy_timeout);
    ~Checkpointer(); // same as stop()
    Checkpointer(const Checkpointer&) = delete;
    Checkpointer& operator=(const Checkpointer&) = delete;

    void start();
    /// A last round that also truncates each WAL, then joins. Call once the files' writers have stopped.
    /// Idempotent.
    void stop();

private:
    void run();

    std::vector<std::string> paths_;
    Millis busy_timeout_;
    std::thread thread_;
    std::mutex mutex_;
    std::condition_variable cv_;
    bool stop_ = false; // guarded by mutex_
};

} // namespace fleetscope::store::sqlite
