// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/store/pg/pg_reader.hpp"

#include "core/store/pg/schema.hpp"

#include <chrono>
#include <limits>

namespace fleetscope::store::pg {

namespace {

constexpr std::size_t kReaders = 4;

std::int64_t now_ms()
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// A device's readings: its samples in ts order from the (device_id, ts) index, each unnested into its
// readings, which sort by metric name within one ts (an incremental sort: the LIMIT stops the scan early).
// Names compare bytewise (COLLATE "C"), as SQLite's do, whatever the database's locale. An unknown device or
// metric makes its id NULL, and the query empty.
constexpr const char* kSamples = R"sql(
SELECT s.ts, m.name, r.value
FROM samples s
CROSS JOIN LATERAL unnest(s.metric_ids, s.metric_values) AS r(metric_id, value)
JOIN metrics m ON m.id = r.metric_id
WHERE s.device_id = (SELECT id FROM devices WHERE name = $1)
  AND s.ts >= $3::bigint AND s.ts <= $4::bigint
  AND ($2::text IS NULL OR r.metric_id = (SELECT id FROM metrics WHERE name = $2::text))
ORDER BY s.ts, m.name COLLATE "C"
LIMIT $5::bigint)sql";

} // namespace

PgReader::PgReader(Target target, bool expect_schema)
    : target_(std::move(target))
    , expect_schema_(expect_schema)
{}

PgReader::~PgReader() = default;

Connection PgReader::lease() const
{
    {
        std::unique_lock lock(mutex_);
        cv_.wait(lock, [&] { return !idle_.empty() || open_ < kReaders; });
        if (!idle_.empty()) {
            Connection c = std::move(idle_.back());
            idle_.pop_back();
            return c;
        }
        ++open_;
    }
    try {
        Connection c = Connection::open(target_);
        bool check = false;
        {
            std::lock_guard lock(mutex_);
            check = expect_schema_ && !schema_checked_;
        }
        if (check) {
            const int version = schema_version(c);
            if (version != kSchemaVersion)
                throw PgError(version == 0
                                  ? "no FleetScope data at " + describe(target_.conninfo) +
                                        ": no gateway has used this database yet"
                                  : "the database at " + describe(target_.conninfo) +
                                        " has FleetScope schema version " + std::to_string(version) +
                                        "; this build reads version " + std::to_string(kSchemaVersion),
                              "", false);
            std::lock_guard lock(mutex_);
            schema_checked_ = true;
        }
        return c;
    } catch (...) {
        std::lock_guard lock(mutex_);
        --open_;
        cv_.notify_one();
        throw;
    }
}

void PgReader::give_back(Connection c) const
{
    std::lock_guard lock(mutex_);
    if (c.ok()) {
        idle_.push_back(std::move(c));
    } else {
        --open_; // dropped: the next lease opens a fresh one
    }
    cv_.notify_one();
}

template <class F>
auto PgReader::read(F&& fn) const
{
    for (int attempt = 0;; ++attempt) {
        Connection c = lease();
        try {
            auto out = fn(c);
            give_back(std::move(c));
            return out;
        } catch (const PgError& e) {
            const bool lost = !c.ok();
            give_back(std::move(c));
            // A pooled connection that died with a server restart fails its first statement; one fresh
            // connection tells an outage from a server that is back.
            if (!lost || attempt > 0)
                throw;
        } catch (...) {
            give_back(std::move(c));
            throw;
        }
    }
}

void PgReader::with_connection(const std::function<void(Connection&)>& fn) const
{
    read([&](Connection& c) {
        fn(c);
        return 0;
    });
}

std::vector<DeviceRow> PgReader::devices() const
{
    return read([](Connection& c) {
        const Result r = c.exec("SELECT name, first_seen, last_seen, samples FROM devices WHERE samples > 0 "
                                "ORDER BY name COLLATE \"C\"",
                                "cannot read devices");
        std::vector<DeviceRow> out;
        out.reserve(static_cast<std::size_t>(r.rows()));
        for (int i = 0; i < r.rows(); ++i)
            out.push_back(DeviceRow{std::string(r.text(i, 0)), r.int64(i, 1), r.int64(i, 2), r.int64(i, 3)});
        return out;
    });
}

std::vector<DeviceHolder> PgReader::holders() const
{
    return read([](Connection& c) {
        const Result r = c.exec("SELECT d.name, min(c.gateway COLLATE \"C\") FROM connections c "
                                "JOIN gateways g ON g.name = c.gateway JOIN devices d ON d.id = c.device_id "
                                "WHERE g.heartbeat_at >= $1::bigint GROUP BY d.name",
                                {std::to_string(now_ms() - kHeartbeatTimeoutMs)}, "cannot read connections");
        std::vector<DeviceHolder> out;
        out.reserve(static_cast<std::size_t>(r.rows()));
        for (int i = 0; i < r.rows(); ++i)
            out.push_back(DeviceHolder{std::string(r.text(i, 0)), std::string(r.text(i, 1))});
        return out;
    });
}

std::vector<SampleRow> PgReader::samples(const SampleQuery& q) const
{
    if (q.limit == 0)
        return {};
    const std::int64_t from = q.from.value_or(std::numeric_limits<std::int64_t>::min());
    const std::int64_t to = q.to.value_or(std::numeric_limits<std::int64_t>::max());
    if (from > to)
        return {};
    return read([&](Connection& c) {
        const Result r =
            c.exec(kSamples,
                   {q.device, q.metric.empty() ? std::nullopt : std::optional<std::string_view>(q.metric),
                    std::to_string(from), std::to_string(to), std::to_string(q.limit)},
                   "cannot read samples");
        std::vector<SampleRow> out;
        out.reserve(static_cast<std::size_t>(r.rows()));
        for (int i = 0; i < r.rows(); ++i)
            out.push_back(SampleRow{r.int64(i, 0), std::string(r.text(i, 1)), r.real(i, 2)});
        return out;
    });
}

std::vector<SessionRow> PgReader::sessions() const
{
    return read([](Connection& c) {
        const Result r = c.exec("SELECT id, started_at, ended_at, coalesce(end_reason, ''), app_version, "
                                "settings FROM sessions ORDER BY id",
                                "cannot read sessions");
        std::vector<SessionRow> out;
        out.reserve(static_cast<std::size_t>(r.rows()));
        for (int i = 0; i < r.rows(); ++i)
            out.push_back(SessionRow{r.int64(i, 0), r.int64(i, 1), r.optional_int64(i, 2),
                                     std::string(r.text(i, 3)), std::string(r.text(i, 4)),
                                     std::string(r.text(i, 5))});
        return out;
    });
}

std::vector<std::pair<std::int64_t, std::string>> PgReader::session_gateways() const
{
    return read([](Connection& c) {
        const Result r = c.exec("SELECT id, gateway FROM sessions ORDER BY id", "cannot read sessions");
        std::vector<std::pair<std::int64_t, std::string>> out;
        for (int i = 0; i < r.rows(); ++i)
            out.emplace_back(r.int64(i, 0), std::string(r.text(i, 1)));
        return out;
    });
}

std::vector<MarkRow> PgReader::marks() const
{
    return read([](Connection& c) {
        const Result r =
            c.exec("SELECT id, session_id, label, from_ts, to_ts FROM marks ORDER BY from_ts, id",
                   "cannot read marks");
        std::vector<MarkRow> out;
        for (int i = 0; i < r.rows(); ++i)
            out.push_back(MarkRow{r.int64(i, 0), r.int64(i, 1), std::string(r.text(i, 2)), r.int64(i, 3),
                                  r.int64(i, 4)});
        return out;
    });
}

std::vector<TimelineRow> PgReader::timeline(std::int64_t from, std::int64_t to,
                                            const std::string& series) const
{
    return read([&](Connection& c) {
        const Result r =
            c.exec("SELECT series, ts, value FROM timeline WHERE ts >= $1::bigint AND ts <= $2::bigint "
                   "AND ($3::text IS NULL OR series = $3::text) ORDER BY ts, series COLLATE \"C\"",
                   {std::to_string(from), std::to_string(to),
                    series.empty() ? std::nullopt : std::optional<std::string_view>(series)},
                   "cannot read the timeline");
        std::vector<TimelineRow> out;
        out.reserve(static_cast<std::size_t>(r.rows()));
        for (int i = 0; i < r.rows(); ++i)
            out.push_back(TimelineRow{std::string(r.text(i, 0)), r.int64(i, 1), r.real(i, 2)});
        return out;
    });
}

std::vector<std::string> PgReader::timeline_series() const
{
    return read([](Connection& c) {
        const Result r = c.exec("SELECT DISTINCT series COLLATE \"C\" FROM timeline ORDER BY 1",
                                "cannot read the timeline series");
        std::vector<std::string> out;
        for (int i = 0; i < r.rows(); ++i)
            out.emplace_back(r.text(i, 0));
        return out;
    });
}

} // namespace fleetscope::store::pg
