// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/store/store.hpp"

#include "core/store/pg/pg_reader.hpp"
#include "core/store/pg/pg_store.hpp"
#include "core/store/sqlite/store.hpp"

#include <boost/json.hpp>

#include <optional>
#include <string_view>
#include <type_traits>

namespace fleetscope::store {

namespace json = boost::json;

namespace {

constexpr std::string_view kSqliteScheme = "sqlite:";
constexpr std::string_view kPostgresSchemes[] = {"postgresql://", "postgres://"};
constexpr std::string_view kPostgresConninfo = "postgresql:";

/// The libpq URI or conninfo a PostgreSQL location names; nothing for a SQLite one.
std::optional<std::string> pg_conninfo(const std::string& location)
{
    for (const std::string_view scheme : kPostgresSchemes)
        if (location.starts_with(scheme))
            return location;
    if (location.starts_with(kPostgresConninfo))
        return location.substr(kPostgresConninfo.size());
    return std::nullopt;
}

/// The SQLite file a location names.
std::string sqlite_path(const std::string& location)
{
    if (location.starts_with(kSqliteScheme))
        return location.substr(kSqliteScheme.size());
    return location;
}

} // namespace

Options Options::from(const Settings& s)
{
    Options o;
    const StoreTarget target = store_target(s);
    o.path = target.kind == StoreTarget::Kind::postgresql ? s.store : target.location;
    o.queue_samples = s.store_queue_samples;
    o.max_batch_samples = s.max_batch_samples;
    o.busy_timeout = s.store_busy_timeout;
    o.app_version = FLEETSCOPE_VERSION;
    json::object settings;
    for_each_setting(s, [&settings](const SettingInfo& info, const auto& field) {
        using T = std::decay_t<decltype(field)>;
        if constexpr (std::is_same_v<T, Millis>)
            settings[info.name] = field.count();
        else
            settings[info.name] = field;
    });
    o.settings_json = json::serialize(settings);
    o.max_bytes = s.store_max_bytes;
    o.retention_days = s.retention_days;
    o.gateway = gateway_name(s);
    o.connect_timeout = s.store_connect_timeout;
    return o;
}

std::unique_ptr<Store> open_store(const Options& options)
{
    if (const auto conninfo = pg_conninfo(options.path))
        return std::make_unique<pg::PgStore>(pg::Options::from(options, *conninfo));
    return sqlite::open_store(options, sqlite_path(options.path));
}

std::unique_ptr<Reader> open_reader(const std::string& location)
{
    if (const auto conninfo = pg_conninfo(location)) {
        // Reads for exports and history views: a group of readings may take longer than a commit may.
        pg::Target target{*conninfo, Millis{10'000}, Millis{60'000}, "fleetscope reader"};
        if (const auto valid = pg::check_conninfo(target.conninfo); !valid)
            throw StoreError("store " + pg::describe(target.conninfo) + ": " + valid.error());
        return std::make_unique<pg::PgReader>(std::move(target));
    }
    return sqlite::open_file(sqlite_path(location));
}

bool is_shared_location(const std::string& location)
{
    return pg_conninfo(location).has_value();
}

util::Result<void> Writer::add_mark(const std::string& label, std::int64_t from_ts, std::int64_t to_ts)
{
    if (session_id() == 0)
        return util::fail("no session is being recorded (the store was opened without an app version)");
    if (label.empty() || label.size() > kMaxMarkLabel)
        return util::fail("mark label: expected 1 to " + std::to_string(kMaxMarkLabel) + " bytes, got " +
                          std::to_string(label.size()));
    if (from_ts > to_ts)
        return util::fail("mark span: from " + std::to_string(from_ts) + " is after to " +
                          std::to_string(to_ts));
    MarkRow mark;
    mark.session_id = session_id();
    mark.label = label;
    mark.from_ts = from_ts;
    mark.to_ts = to_ts;
    if (!queue_mark(std::move(mark)))
        return util::fail("the store is stopping; the mark was not recorded");
    return {};
}

std::vector<TimelineRow> Reader::timeline(const TimelineQuery& q) const
{
    std::vector<TimelineRow> out;
    timeline(q, [&out](const TimelineRow& row) { out.push_back(row); });
    return out;
}

} // namespace fleetscope::store
