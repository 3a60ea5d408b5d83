// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/settings.hpp"

#include "core/util/identifier.hpp"

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string_view>
#include <thread>

#if !defined(_WIN32)
#include <unistd.h>
#endif

namespace fleetscope {

namespace {
// The smallest useful database: the schema takes a few pages, and a batch needs room to land.
constexpr std::size_t kMinStoreBytes = 64 * 1024;

constexpr std::string_view kSqlitePrefix = "sqlite:";
constexpr std::string_view kPgUriPrefixes[] = {"postgresql://", "postgres://"};
constexpr std::string_view kPgConninfoPrefix = "postgresql:";
constexpr std::size_t kMaxGatewayName = 64;

bool is_pg_uri(std::string_view v)
{
    for (const auto p : kPgUriPrefixes)
        if (v.starts_with(p))
            return true;
    return false;
}

/// What is wrong with --store (and --db beside it), if anything.
util::Result<void> check_store(const Settings& s)
{
    const std::string_view v = s.store;
    if (v.empty())
        return {};
    if (v.starts_with(kSqlitePrefix)) {
        const std::string_view path = v.substr(kSqlitePrefix.size());
        if (path.empty())
            return util::fail(
                "store: sqlite: needs a file path, e.g. sqlite:/var/lib/fleetscope/fleetscope.db");
        if (!s.db_path.empty() && s.db_path != path)
            return util::fail("store and db name two different SQLite files ('" + std::string(path) +
                              "' and '" + s.db_path + "'): give one of them");
        return {};
    }
    if (is_pg_uri(v) || v.starts_with(kPgConninfoPrefix)) {
        if (!s.db_path.empty())
            return util::fail("db is an SQLite file and store names PostgreSQL: give one of them");
        if (!is_pg_uri(v) && v.substr(kPgConninfoPrefix.size()).find('=') == std::string_view::npos)
            return util::fail(
                "store: a conninfo after postgresql: is KEY=VALUE pairs, e.g. postgresql:host=db1 "
                "dbname=fleetscope");
        return {};
    }
    return util::fail(
        "store: expected sqlite:PATH, postgresql://USER@HOST[:PORT]/DATABASE (or postgres://), or "
        "postgresql:KEY=VALUE... (a libpq conninfo); got '" +
        std::string(v.substr(0, 40)) + (v.size() > 40 ? "...'" : "'"));
}

} // namespace

StoreTarget store_target(const Settings& s)
{
    const std::string_view v = s.store;
    if (is_pg_uri(v))
        return {StoreTarget::Kind::postgresql, s.store};
    if (v.starts_with(kPgConninfoPrefix))
        return {StoreTarget::Kind::postgresql, std::string(v.substr(kPgConninfoPrefix.size()))};
    if (v.starts_with(kSqlitePrefix))
        return {StoreTarget::Kind::sqlite, std::string(v.substr(kSqlitePrefix.size()))};
    return {StoreTarget::Kind::sqlite, s.db_path.empty() ? default_db_path() : s.db_path};
}

std::string gateway_name(const Settings& s)
{
    if (!s.gateway_name.empty())
        return s.gateway_name;
#if !defined(_WIN32)
    char host[256] = {};
    if (gethostname(host, sizeof host - 1) == 0 && host[0] != '\0')
        return std::string(host).substr(0, kMaxGatewayName);
#else
    if (const char* host = std::getenv("COMPUTERNAME"); host && *host)
        return std::string(host).substr(0, kMaxGatewayName);
#endif
    return "gateway";
}

std::string default_db_path()
{
    namespace fs = std::filesystem;
    fs::path dir;
    // systemd's StateDirectory= (fleetscope-gateway.service): the service's own folder under /var/lib, made
    // and owned for it by systemd. It may list several folders, separated by colons; the first is ours.
    const char* state = nullptr;
#if !defined(_WIN32)
    state = std::getenv("STATE_DIRECTORY");
#endif
    if (state && *state) {
        const std::string_view list(state);
        dir = fs::path(std::string(list.substr(0, list.find(':'))));
    } else {
        fs::path base;
#if defined(_WIN32)
        if (const char* appdata = std::getenv("LOCALAPPDATA"); appdata && *appdata)
            base = appdata;
        constexpr const char* kWhere = "LOCALAPPDATA is not set";
#elif defined(__APPLE__)
        if (const char* home = std::getenv("HOME"); home && *home)
            base = fs::path(home) / "Library" / "Application Support";
        constexpr const char* kWhere = "HOME is not set";
#else
        if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg)
            base = xdg;
        else if (const char* home = std::getenv("HOME"); home && *home)
            base = fs::path(home) / ".local" / "share";
        constexpr const char* kWhere = "neither XDG_DATA_HOME nor HOME is set";
#endif
        // Never the working directory: under a service manager that is `/`, and a database there is a
        // surprise at best.
        if (base.empty())
            throw std::runtime_error(
                std::string("no default database location: ") + kWhere +
                " (nor STATE_DIRECTORY, as systemd sets it); give the database with --db "
                "PATH");
        dir = base / "fleetscope";
    }
    std::error_code ec;
    fs::create_directories(dir, ec);
    return (dir / "fleetscope.db").string();
}

unsigned resolved_workers(const Settings& s)
{
    if (s.workers != 0)
        return s.workers;
    const unsigned n = std::thread::hardware_concurrency();
    return n == 0 ? 1 : n;
}

util::Result<void> validate(const Settings& s)
{
    const auto colon = s.listen.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == s.listen.size())
        return util::fail("listen: expected HOST:PORT, e.g. 127.0.0.1:8080, got '" + s.listen + "'");
    const std::string port = s.listen.substr(colon + 1);
    if (port.find_first_not_of("0123456789") != std::string::npos || port.size() > 5 ||
        std::stoul(port) > 65535)
        return util::fail("listen: port must be a number from 0 to 65535, got '" + port + "'");
    if (s.backlog < 1)
        return util::fail("backlog: must be at least 1");
    if (s.workers > 1024)
        return util::fail("workers: at most 1024");
    if (s.fiber_stack_bytes < 16 * 1024 || s.fiber_stack_bytes > 8 * 1024 * 1024)
        return util::fail("fiber-stack-bytes: must be from 16384 to 8388608");
    if (s.max_header_bytes < 256)
        return util::fail("max-header-bytes: must be at least 256");
    if (s.max_body_bytes < 64)
        return util::fail("max-body-bytes: must be at least 64");
    if (s.max_samples_per_request < 1 || s.max_metrics_per_sample < 1)
        return util::fail("max-samples and max-metrics: must be at least 1");
    if (s.max_json_depth < 3)
        return util::fail("max-json-depth: must be at least 3 (array, sample, metrics)");
    for (auto [name, t] : {std::pair{"header-timeout", s.header_timeout},
                           {"body-timeout", s.body_timeout},
                           {"idle-timeout", s.idle_timeout},
                           {"write-timeout", s.write_timeout}})
        if (t.count() < 1)
            return util::fail(std::string(name) + ": must be at least 1 ms");
    if (s.store_queue_samples < s.max_samples_per_request)
        return util::fail("store-queue: must hold at least one full request (max-samples)");
    if (s.max_batch_samples < 1)
        return util::fail("max-batch: must be at least 1");
    if (s.retry_after_seconds < 1)
        return util::fail("retry-after: must be at least 1 s");
    if (s.store_max_bytes != 0 && s.store_max_bytes < kMinStoreBytes)
        return util::fail("store-max-bytes: must be 0 (unlimited) or at least " +
                          std::to_string(kMinStoreBytes) + " bytes (the schema and one batch)");
    if (auto store = check_store(s); !store)
        return store;
    if (s.retention_days > 100'000)
        return util::fail("retention: at most 100000 days (0 keeps everything)");
    if (s.drain_time.count() < 0 || s.drain_time > Millis(3'600'000))
        return util::fail("drain-time: must be from 0 to 3600000 ms (an hour)");
    if (s.store_connect_timeout.count() < 1)
        return util::fail("store-connect-timeout: must be at least 1 ms");
    if (s.gateway_name.size() > kMaxGatewayName || !util::identifier_chars_only(s.gateway_name))
        return util::fail("gateway-name: expected up to " + std::to_string(kMaxGatewayName) +
                          " characters of [A-Za-z0-9._:-], got '" + s.gateway_name + "'");
    if (s.sample_interval.count() < 10)
        return util::fail("sample-interval: must be at least 10 ms");
    if (s.subscriber_queue < 16)
        return util::fail("subscriber-queue: must be at least 16");
    if (s.stream_subscribers > 1024)
        return util::fail("stream-subscribers: at most 1024");
    if (s.stream_interval.count() < 10 || s.stream_interval > Millis(10'000))
        return util::fail("stream-interval: must be from 10 to 10000 ms");
    if (s.tls_cert.empty() != s.tls_key.empty())
        return util::fail(s.tls_cert.empty()
                              ? "tls-key is set but tls-cert is not: HTTPS needs both (or neither)"
                              : "tls-cert is set but tls-key is not: HTTPS needs both (or neither)");
    if (s.timeline_interval.count() != 0 && s.timeline_interval < s.sample_interval)
        return util::fail("timeline-interval: must be 0 (off) or at least sample-interval (" +
                          std::to_string(s.sample_interval.count()) + " ms)");
    if (s.alerts_recent > 1'000'000)
        return util::fail("alerts-recent: at most 1000000");
    if (s.influx_device_tag.empty() || s.influx_device_tag.find_first_of(" ,=\\") != std::string::npos)
        return util::fail(
            "influx-device-tag: expected a tag key without spaces, commas, '=' or backslashes, got '" +
            s.influx_device_tag + "'");
    if (!s.mqtt_broker.empty()) {
        const std::string_view b = s.mqtt_broker;
        const auto rest = b.substr(b.find("://") == std::string_view::npos ? 0 : b.find("://") + 3);
        if ((!b.starts_with("mqtt://") && !b.starts_with("mqtts://")) || rest.empty() ||
            rest.rfind(':') == std::string_view::npos || rest.rfind(':') + 1 == rest.size() ||
            rest.substr(rest.rfind(':') + 1).find_first_not_of("0123456789") != std::string_view::npos)
            return util::fail("mqtt-broker: expected mqtt://HOST:PORT or mqtts://HOST:PORT, got '" +
                              s.mqtt_broker + "'");
        if (s.mqtt_topics.empty())
            return util::fail(
                "mqtt-topic: mqtt-broker is set and no topic filter is: give at least one --mqtt-topic, "
                "e.g. fleet/+/telemetry");
    }
    if (s.mqtt_reconnect_min.count() < 100 || s.mqtt_reconnect_max < s.mqtt_reconnect_min)
        return util::fail(
            "mqtt-reconnect-min and mqtt-reconnect-max: the minimum must be at least 100 ms and the "
            "maximum "
            "at least the minimum");
    return {};
}

} // namespace fleetscope
