// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/store/pg/partitions.hpp"

#include "core/store/pg/connection.hpp"
#include "core/store/pg/schema.hpp"

#include <chrono>
#include <cstdio>
#include <optional>

namespace fleetscope::store::pg {

namespace {

/// The day a partition name stands for, or nothing for another table.
std::optional<std::int64_t> day_of_name(std::string_view name)
{
    constexpr std::string_view kPrefix = "samples_";
    if (!name.starts_with(kPrefix) || name.size() != kPrefix.size() + 8)
        return std::nullopt;
    int y = 0;
    unsigned m = 0;
    unsigned d = 0;
    const std::string digits(name.substr(kPrefix.size()));
    if (digits.find_first_not_of("0123456789") != std::string::npos ||
        std::sscanf(digits.c_str(), "%4d%2u%2u", &y, &m, &d) != 3)
        return std::nullopt;
    const std::chrono::year_month_day ymd{std::chrono::year(y), std::chrono::month(m), std::chrono::day(d)};
    if (!ymd.ok())
        return std::nullopt;
    return std::chrono::sys_days(ymd).time_since_epoch().count();
}

/// Rolls back whatever transaction is open, when the connection still stands.
void rollback(Connection& c)
{
    if (c.ok())
        PQclear(PQexec(c.get(), "ROLLBACK"));
}

} // namespace

std::string partition_name(std::int64_t day)
{
    const std::chrono::year_month_day ymd{std::chrono::sys_days(std::chrono::days(day))};
    char buf[32];
    std::snprintf(buf, sizeof buf, "samples_%04d%02u%02u", static_cast<int>(ymd.year()),
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
    return buf;
}

void Partitions::load(Connection& c)
{
    const Result r = c.exec("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                            "WHERE i.inhparent = 'samples'::regclass",
                            "cannot list the samples partitions");
    days_.clear();
    for (int i = 0; i < r.rows(); ++i)
        if (const auto day = day_of_name(r.text(i, 0)))
            days_.insert(*day);
}

bool Partitions::ensure(Connection& c, std::int64_t day, std::int64_t today)
{
    if (days_.contains(day) || day < today - back_days_ || day > today + kAheadDays)
        return true;
    const auto now = std::chrono::steady_clock::now();
    if (auto it = retry_at_.find(day); it != retry_at_.end()) {
        if (now < it->second)
            return false;
        retry_at_.erase(it);
    }
    const std::string name = partition_name(day);
    const std::string from = std::to_string(day * kDayMs);
    const std::string to = std::to_string((day + 1) * kDayMs);
    const std::string what = "cannot create the partition " + name;
    try {
        c.exec("BEGIN", what);
        // One gateway at a time creates partitions; the others carry on writing (into the default partition,
        // for a day that has none yet) instead of queueing behind it.
        const Result locked =
            c.exec("SELECT pg_try_advisory_xact_lock($1::bigint)", {std::to_string(kPartitionLock)}, what);
        if (locked.text(0, 0) != "t") {
            rollback(c);
            retry_at_[day] = now + kRetryAfter;
            return false;
        }
        const Result exists = c.exec("SELECT to_regclass($1) IS NOT NULL", {name}, what);
        if (exists.text(0, 0) != "t") {
            // The default partition is locked first (ATTACH needs this lock anyway), so no reading of this
            // day can land in it between the move and the attach, which checks that it holds none. The new
            // table gets the parent's index when it is attached.
            // A short lock wait: a long read of the default partition (an export) makes this attempt give up
            // rather than hold every writer queued behind the lock request.
            c.exec("SET LOCAL lock_timeout = 500", what);
            c.exec("LOCK TABLE samples_other IN ACCESS EXCLUSIVE MODE", what);
            const std::string sql =
                "CREATE TABLE " + name + " (LIKE samples INCLUDING DEFAULTS INCLUDING CONSTRAINTS); " +
                "WITH moved AS (DELETE FROM samples_other WHERE ts >= " + from + " AND ts < " + to +
                " RETURNING device_id, ts, metric_ids, metric_values) INSERT INTO " + name +
                " SELECT device_id, ts, metric_ids, metric_values FROM moved; " +
                "ALTER TABLE samples ATTACH PARTITION " + name + " FOR VALUES FROM (" + from + ") TO (" + to +
                ")";
            c.exec(sql.c_str(), what);
        }
        c.exec("COMMIT", what);
        days_.insert(day);
        return true;
    } catch (const PgError& e) {
        rollback(c);
        if (e.connection_lost())
            throw;
        // A lock not granted within the statement timeout (an export reading the default partition) or any
        // other refusal: the rows go to the default partition meanwhile, and a later batch tries again.
        std::fprintf(stderr, "fleetscope: %s; its readings go to samples_other until it can be made\n",
                     e.what());
        retry_at_[day] = now + kRetryAfter;
        return false;
    }
}

void Partitions::ensure_ahead(Connection& c, std::int64_t today)
{
    for (std::int64_t d = today; d <= today + kAheadDays; ++d)
        ensure(c, d, today);
}

int Partitions::drop_before(Connection& c, std::int64_t first_kept_day, std::int64_t slice, bool& done)
{
    load(c); // another gateway may have made or dropped some
    int dropped = 0;
    for (auto it = days_.begin(); it != days_.end() && *it < first_kept_day;) {
        const std::string name = partition_name(*it);
        try {
            // DETACH takes an exclusive lock on `samples` for a moment; under a short lock timeout, a long
            // reader makes it give up and retry later instead of stalling every writer queued behind the
            // lock.
            c.exec("BEGIN", "cannot drop " + name);
            c.exec("SET LOCAL lock_timeout = 500", "cannot drop " + name);
            c.exec(("ALTER TABLE samples DETACH PARTITION " + name + "; DROP TABLE " + name).c_str(),
                   "cannot drop " + name);
            c.exec("COMMIT", "cannot drop " + name);
            it = days_.erase(it);
            ++dropped;
        } catch (const PgError& e) {
            rollback(c);
            if (e.connection_lost())
                throw;
            std::fprintf(stderr, "fleetscope: retention: %s; trying again later\n", e.what());
            done = false;
            return dropped;
        }
    }
    // The default partition holds readings of any age; the old ones go in slices, each its own short
    // transaction.
    const std::string cutoff = std::to_string(first_kept_day * kDayMs);
    const Result r = c.exec("DELETE FROM samples_other WHERE ctid = ANY(ARRAY(SELECT ctid FROM samples_other "
                            "WHERE ts < $1::bigint LIMIT $2::bigint))",
                            {cutoff, std::to_string(slice)}, "cannot delete old readings");
    const std::string_view tag = r.tag(); // "DELETE n"
    done = tag.substr(tag.rfind(' ') + 1) != std::to_string(slice);
    return dropped;
}

} // namespace fleetscope::store::pg
