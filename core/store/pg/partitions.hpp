// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// The samples table's time partitions, private to core/store/pg: one per UTC day, created ahead by whichever
// gateway needs one first, dropped whole by retention.
//
// A reading lands in its day's partition when that day lies within the window [today - kBackDays (or the
// retention, when shorter), today + kAheadDays]; readings further out (a device whose clock is wrong, old
// data replayed) land in the default partition `samples_other`, so a device cannot make the writer create a
// partition per day it invents. Creating a day's partition moves that day's rows out of `samples_other` in
// the same transaction, so a reading is never in two places, and the window can move on without losing any.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>

namespace fleetscope::store::pg {

class Connection;

inline constexpr std::int64_t kDayMs = 86'400'000;

/// The UTC day (days since 1970-01-01) of `ts_ms`, rounding towards minus infinity.
constexpr std::int64_t day_of(std::int64_t ts_ms)
{
    return ts_ms >= 0 ? ts_ms / kDayMs : -((-ts_ms + kDayMs - 1) / kDayMs);
}

/// samples_YYYYMMDD of a day.
std::string partition_name(std::int64_t day);

/// The partitions this gateway knows to exist. Writer thread only.
class Partitions {
public:
    static constexpr std::int64_t kAheadDays = 3; // created before they are needed, so writes never wait
    static constexpr std::int64_t kBackDays = 31; // late readings still get their day's partition

    /// `retention_days` 0 keeps everything; otherwise no partition is made for a day retention would drop.
    explicit Partitions(unsigned retention_days = 0)
        : back_days_(retention_days == 0 ? kBackDays : std::min<std::int64_t>(kBackDays, retention_days))
    {}

    /// Reads which partitions exist.
    void load(Connection& c);

    /// True when `day` has its own partition (or lies outside the window, so its rows go to the default one);
    /// otherwise creates it. False when it could not now: another gateway holds the partition lock, or a lock
    /// on the table was not granted within the statement timeout; its rows then go to the default partition
    /// and move into the day's partition when it is made. Throws PgError when the connection is lost.
    bool ensure(Connection& c, std::int64_t day, std::int64_t today);

    /// ensure() for today and the days ahead.
    void ensure_ahead(Connection& c, std::int64_t today);

    /// Drops every day partition that ends at or before the start of `first_kept_day`, and deletes the
    /// default partition's older rows, at most `slice` at a time. Returns the partitions dropped; false in
    /// `done` when rows remain to delete (call again later). Throws PgError when the connection is lost.
    int drop_before(Connection& c, std::int64_t first_kept_day, std::int64_t slice, bool& done);

    bool known(std::int64_t day) const { return days_.contains(day); }

private:
    // A day whose partition could not be made now is tried again after this, not on every batch.
    static constexpr std::chrono::seconds kRetryAfter{30};

    std::int64_t back_days_;
    std::set<std::int64_t> days_;
    std::map<std::int64_t, std::chrono::steady_clock::time_point> retry_at_;
};

} // namespace fleetscope::store::pg
