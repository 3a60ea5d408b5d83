// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// Retention of the SQLite store's main file (docs/architecture.md, "The store"): what a pass deletes, one
// slice per transaction so that it never holds the main file's write lock for long. The compactor runs the
// slices on its thread, between its rounds, on the connection it owns.
//
// A pass keeps what is at or after a cutoff: whole chunks whose last reading is older go (a chunk spans a
// bucket of about 65 s, so a chunk across the cutoff stays whole), then the timeline points older than it.
// Chunks are visited in id order, a bounded range of ids per slice, so a pass reads each row once however
// much it deletes. Device rows and their counts stay: `samples` counts what a device sent, as PostgreSQL's
// does. Freed pages are reused by later commits; the file does not shrink.

#include "core/store/sqlite/db.hpp"

#include <cstdint>
#include <string>

namespace fleetscope::store::sqlite {

inline constexpr std::int64_t kRetentionDayMs = 86'400'000;

/// The first instant kept when keeping `days` whole UTC days before the day of `now_ms` (ms since the epoch),
/// the same cutoff as the PostgreSQL store's day partitions. `days` > 0.
constexpr std::int64_t retention_cutoff(std::int64_t now_ms, unsigned days)
{
    const std::int64_t t = now_ms - static_cast<std::int64_t>(days) * kRetentionDayMs;
    const std::int64_t day = t >= 0 ? t / kRetentionDayMs : -((-t + kRetentionDayMs - 1) / kRetentionDayMs);
    return day * kRetentionDayMs;
}

class Retention {
public:
    struct Totals {
        std::int64_t chunks = 0;
        std::int64_t readings = 0;
        std::int64_t points = 0; // timeline
    };

    /// Over the main file's write connection `main` (`path` for messages); a slice visits at most `slice`
    /// chunk ids and deletes at most `slice` timeline points.
    Retention(sqlite3* main, std::string path, std::int64_t slice);

    /// Starts a pass that keeps what is at or after `cutoff_ms`, with its totals at zero.
    void begin_pass(std::int64_t cutoff_ms);
    /// Deletes one slice inside the caller's transaction; true while the pass has more to do. Throws
    /// StoreError; the caller rolls back and may call it again (the slice is retried, not skipped).
    bool slice();
    /// What the pass has deleted so far, counting only committed slices once the caller calls committed().
    const Totals& totals() const { return totals_; }
    /// The caller committed the last slice: its deletions count, and the next slice moves on.
    void committed();
    std::int64_t cutoff() const { return cutoff_; }

private:
    enum class Phase { chunks, timeline, done };

    sqlite3* db_;
    std::string path_;
    std::int64_t slice_;
    Stmt slice_end_, count_old_, delete_old_, delete_points_;
    Phase phase_ = Phase::done;
    std::int64_t cutoff_ = 0;
    std::int64_t cursor_ = 0; // chunk ids up to it are done
    // The slice run but not yet committed.
    Phase next_phase_ = Phase::done;
    std::int64_t next_cursor_ = 0;
    Totals pending_;
    Totals totals_;
};

} // namespace fleetscope::store::sqlite
