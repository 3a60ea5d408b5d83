// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/store/pg/pg_reader.hpp"

#include "core/store/pg/schema.hpp"
#include "core/util/clock.hpp"

#include <algorithm>
#include <limits>
#include <unordered_map>

namespace fleetscope::store::pg {

namespace {

constexpr std::size_t kReaders = 4;

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
// The last $5 of the range: the same walk backwards.
constexpr const char* kLatestSamples = R"sql(
SELECT s.ts, m.name, r.value
FROM samples s
CROSS JOIN LATERAL unnest(s.metric_ids, s.metric_values) AS r(metric_id, value)
JOIN metrics m ON m.id = r.metric_id
WHERE s.device_id = (SELECT id FROM devices WHERE name = $1)
  AND s.ts >= $3::bigint AND s.ts <= $4::bigint
  AND ($2::text IS NULL OR r.metric_id = (SELECT id FROM metrics WHERE name = $2::text))
ORDER BY s.ts DESC, m.name COLLATE "C" DESC
LIMIT $5::bigint)sql";

// The readings of a group of devices ($1, in that order), each unnested, for read_readings: one statement,
// so one snapshot for the whole group. $4 NULL: every metric.
constexpr const char* kGroupReadings = R"sql(
SELECT d.name, d.first_seen, d.last_seen, d.samples, m.name, s.ts, r.value
FROM unnest($1::text[]) WITH ORDINALITY AS w(name, pos)
JOIN devices d ON d.name = w.name
JOIN samples s ON s.device_id = d.id AND s.ts >= $2::bigint AND s.ts <= $3::bigint
CROSS JOIN LATERAL unnest(s.metric_ids, s.metric_values) AS r(metric_id, value)
JOIN metrics m ON m.id = r.metric_id
WHERE $4::text[] IS NULL OR m.name = ANY($4::text[])
ORDER BY w.pos, m.name COLLATE "C", s.ts)sql";

// How many readings each device of $1 holds in the range, for count_readings.
constexpr const char* kCountReadings = R"sql(
SELECT d.name, count(*)
FROM devices d
JOIN samples s ON s.device_id = d.id AND s.ts >= $2::bigint AND s.ts <= $3::bigint
CROSS JOIN LATERAL unnest(s.metric_ids) AS r(metric_id)
WHERE d.name = ANY($1::text[])
  AND ($4::text[] IS NULL OR r.metric_id IN (SELECT id FROM metrics WHERE name = ANY($4::text[])))
GROUP BY d.name)sql";

std::optional<std::string> names_or_null(const std::vector<std::string>& names)
{
    return names.empty() ? std::nullopt : std::optional<std::string>(text_array(names));
}

std::optional<std::string_view> view(const std::optional<std::string>& s)
{
    return s ? std::optional<std::string_view>(*s) : std::nullopt;
}

} // namespace

PgReader::PgReader(Target target, bool expect_schema)
    : target_(std::move(target))
    , location_(describe(target_.conninfo))
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

std::optional<std::vector<DeviceHolder>> PgReader::holders() const
{
    return read([](Connection& c) -> std::optional<std::vector<DeviceHolder>> {
        const Result r =
            c.exec("SELECT d.name, min(c.gateway COLLATE \"C\") FROM connections c "
                   "JOIN gateways g ON g.name = c.gateway JOIN devices d ON d.id = c.device_id "
                   "WHERE g.heartbeat_at >= $1::bigint GROUP BY d.name",
                   {std::to_string(util::now_ms() - kHeartbeatTimeoutMs)}, "cannot read connections");
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
            c.exec(q.latest ? kLatestSamples : kSamples,
                   {q.device, q.metric.empty() ? std::nullopt : std::optional<std::string_view>(q.metric),
                    std::to_string(from), std::to_string(to), std::to_string(q.limit)},
                   "cannot read samples");
        std::vector<SampleRow> out;
        out.reserve(static_cast<std::size_t>(r.rows()));
        for (int i = 0; i < r.rows(); ++i)
            out.push_back(SampleRow{r.int64(i, 0), std::string(r.text(i, 1)), r.real(i, 2)});
        if (q.latest)
            std::reverse(out.begin(), out.end());
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

void PgReader::timeline(const TimelineQuery& q, const std::function<void(const TimelineRow&)>& row) const
{
    if (q.from > q.to)
        return;
    // One read: a session's timeline is a point per series every few seconds, small beside the samples.
    const auto rows = read([&](Connection& c) {
        const Result r = c.exec(
            "SELECT series, ts, value, session_id FROM timeline WHERE ts >= $1::bigint AND ts <= $2::bigint "
            "AND ($3::text IS NULL OR series = $3::text) AND ($4::bigint[] IS NULL OR session_id = "
            "ANY($4::bigint[])) ORDER BY session_id, series COLLATE \"C\", ts",
            {std::to_string(q.from), std::to_string(q.to),
             q.series.empty() ? std::nullopt : std::optional<std::string_view>(q.series),
             q.sessions.empty() ? std::nullopt : std::optional<std::string_view>(int_array(q.sessions))},
            "cannot read the timeline");
        std::vector<TimelineRow> out;
        out.reserve(static_cast<std::size_t>(r.rows()));
        for (int i = 0; i < r.rows(); ++i)
            out.push_back(TimelineRow{std::string(r.text(i, 0)), r.int64(i, 1), r.real(i, 2), r.int64(i, 3)});
        return out;
    });
    for (const TimelineRow& t : rows)
        row(t);
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

std::vector<std::string> PgReader::metric_names() const
{
    return read([](Connection& c) {
        const Result r =
            c.exec("SELECT name FROM metrics ORDER BY name COLLATE \"C\"", "cannot read the metric names");
        std::vector<std::string> out;
        for (int i = 0; i < r.rows(); ++i)
            out.emplace_back(r.text(i, 0));
        return out;
    });
}

Summary PgReader::summary() const
{
    return read([](Connection& c) {
        // The device rows carry first and last sample times; the readings are counted in the samples.
        const Result r = c.exec("SELECT (SELECT count(*) FROM devices WHERE samples > 0), "
                                "(SELECT coalesce(sum(cardinality(metric_ids)), 0) FROM samples), "
                                "(SELECT min(first_seen) FROM devices WHERE samples > 0), "
                                "(SELECT max(last_seen) FROM devices WHERE samples > 0)",
                                "cannot read the summary");
        Summary s;
        s.devices = static_cast<std::uint64_t>(r.int64(0, 0));
        s.readings = static_cast<std::uint64_t>(r.int64(0, 1));
        if (s.readings > 0) {
            s.first_ts = r.optional_int64(0, 2);
            s.last_ts = r.optional_int64(0, 3);
        }
        return s;
    });
}

std::vector<AlertRow> PgReader::alerts(const AlertQuery& q) const
{
    return read([&](Connection& c) {
        const Result r = c.exec(
            "SELECT id, session_id, rule, subject, severity, raised_at, cleared_at, acked_at, message FROM "
            "alerts "
            "WHERE raised_at <= $2::bigint AND coalesce(cleared_at, raised_at) >= $1::bigint AND "
            "($3::bigint[] IS NULL OR session_id = ANY($3::bigint[])) ORDER BY id",
            {std::to_string(q.from), std::to_string(q.to),
             q.sessions.empty() ? std::nullopt : std::optional<std::string_view>(int_array(q.sessions))},
            "cannot read alerts");
        std::vector<AlertRow> out;
        out.reserve(static_cast<std::size_t>(r.rows()));
        for (int i = 0; i < r.rows(); ++i)
            out.push_back(AlertRow{r.int64(i, 0), r.int64(i, 1), std::string(r.text(i, 2)),
                                   std::string(r.text(i, 3)), std::string(r.text(i, 4)), r.int64(i, 5),
                                   r.optional_int64(i, 6), r.optional_int64(i, 7),
                                   std::string(r.text(i, 8))});
        return out;
    });
}

std::vector<std::pair<std::string, std::string>> PgReader::meta() const
{
    return read([](Connection& c) {
        const Result r = c.exec("SELECT key, value FROM meta ORDER BY key COLLATE \"C\"", "cannot read meta");
        std::vector<std::pair<std::string, std::string>> out;
        for (int i = 0; i < r.rows(); ++i)
            out.emplace_back(r.text(i, 0), r.text(i, 1));
        return out;
    });
}

std::vector<std::uint64_t> PgReader::count_readings(const ReadingsQuery& q) const
{
    std::vector<std::uint64_t> out(q.devices.size(), 0);
    if (q.devices.empty() || q.from > q.to)
        return out;
    const auto counts = read([&](Connection& c) {
        const std::string devices = text_array(q.devices);
        const auto metrics = names_or_null(q.metrics);
        const Result r =
            c.exec(kCountReadings, {devices, std::to_string(q.from), std::to_string(q.to), view(metrics)},
                   "cannot count readings");
        std::unordered_map<std::string, std::uint64_t> m;
        for (int i = 0; i < r.rows(); ++i)
            m.emplace(std::string(r.text(i, 0)), static_cast<std::uint64_t>(r.int64(i, 1)));
        return m;
    });
    for (std::size_t i = 0; i < q.devices.size(); ++i)
        if (const auto it = counts.find(q.devices[i]); it != counts.end())
            out[i] = it->second;
    return out;
}

void PgReader::read_readings(const ReadingsQuery& q, ReadingVisitor& visitor,
                             std::uint64_t group_readings) const
{
    const auto counts = count_readings(q);
    std::uint64_t total = 0;
    for (const auto n : counts)
        total += n;
    visitor.begin(total);
    if (total == 0)
        return;
    const auto metrics = names_or_null(q.metrics);
    std::size_t next = 0;
    while (next < q.devices.size()) {
        // Whole devices, about group_readings readings together (a device larger than that alone).
        std::vector<std::string> group;
        std::uint64_t in_group = 0;
        while (next < q.devices.size() && (group.empty() || in_group + counts[next] <= group_readings)) {
            in_group += counts[next];
            group.push_back(q.devices[next++]);
        }
        if (in_group == 0)
            continue;
        // The whole group's result arrives before the first visit: a visitor that throws cancels between
        // rows of a finished read, and no view outlives its statement.
        const Result r = read([&](Connection& c) {
            return c.exec(kGroupReadings,
                          {text_array(group), std::to_string(q.from), std::to_string(q.to), view(metrics)},
                          "cannot read readings");
        });
        std::string_view current;
        for (int i = 0; i < r.rows(); ++i) {
            if (i == 0 || r.text(i, 0) != current) {
                current = r.text(i, 0);
                visitor.device(DeviceRow{std::string(current), r.int64(i, 1), r.int64(i, 2), r.int64(i, 3)});
            }
            visitor.reading(std::string(r.text(i, 4)), r.int64(i, 5), r.real(i, 6));
        }
        visitor.group_end();
    }
}

} // namespace fleetscope::store::pg
