// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "core/util/result.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace fleetscope {

using Millis = std::chrono::milliseconds;

/// Every limit and tunable of the gateway, each with its default beside it. The CLI (`--help`), the UI's
/// settings dialog and the README table are generated from `for_each_setting`, so a field added here appears
/// everywhere. Plain value type: copied into each component at start, never shared mutably between threads.
struct Settings {
    // Network
    std::string listen = "127.0.0.1:8080";
    int backlog = 4096;
    std::size_t max_connections = 0; // 0: the file-descriptor ceiling less a reserve

    // Runtime
    unsigned workers = 0; // 0: std::thread::hardware_concurrency()
    std::size_t fiber_stack_bytes = 64 * 1024;
    std::size_t stack_cache_per_worker = 256;
    Millis park_after{200}; // quiet time before an idle connection gives its fiber back

    // HTTP limits, enforced before buffering
    std::size_t max_header_bytes = 8 * 1024;
    std::size_t max_body_bytes = 1024 * 1024;
    std::size_t max_samples_per_request = 1000;
    std::size_t max_metrics_per_sample = 256;
    std::size_t max_json_depth = 8;

    // Timeouts
    Millis header_timeout{10'000};
    Millis body_timeout{30'000};
    Millis idle_timeout{300'000};
    Millis write_timeout{10'000};
    Millis drain_time{0}; // after SIGTERM: serve with /healthz at 503 this long before stopping

    // Store
    std::string
        store; // empty: sqlite:<db>; else sqlite:PATH, postgresql://..., postgres://..., postgresql:CONNINFO
    std::string db_path;                       // empty: <user data dir>/fleetscope/fleetscope.db
    std::size_t store_queue_samples = 262'144; // over this many queued samples: 503
    std::size_t max_batch_samples = 16'384;
    Millis store_busy_timeout{5'000};
    int retry_after_seconds = 1;
    std::size_t store_max_bytes = 0; // database size cap; 0: unlimited (the disk is the limit)
    unsigned retention_days = 0;     // 0: keep everything
    Millis store_connect_timeout{10'000};
    std::string gateway_name; // empty: the host name

    // Metrics and the UI
    Millis sample_interval{100};
    std::size_t subscriber_queue = 65'536;
    std::size_t stream_subscribers = 16; // GET /v1/stream bodies open at once, at most (503 beyond)
    Millis stream_interval{100};         // how often a stream writes what arrived
    Millis stale_after{60'000};
    Millis timeline_interval{1'000}; // 0: the metric timeline is not persisted

    // Access control
    std::string token_file; // empty: no device tokens; else POST /v1/telemetry needs a device's bearer token
    std::string tls_cert;   // PEM certificate chain; with tls_key: HTTPS; both empty: plain HTTP
    std::string tls_key;    // PEM private key of tls_cert
    // Empty: no operator tokens. With it or token_file set, peers off loopback need an operator's bearer
    // token to read devices and alerts or to acknowledge alerts.
    std::string operator_token_file;

    // Ingest beside JSON (docs/architecture.md, "Ingest protocols")
    std::string influx_device_tag = "device"; // line protocol: the tag naming the device (else `host`)
    std::string mqtt_broker;                  // empty: no MQTT; else mqtt://HOST:PORT or mqtts://HOST:PORT
    std::string mqtt_topics;                  // topic filters, comma-separated (--mqtt-topic, repeatable)
    std::string mqtt_client_id;               // empty: fleetscope-<gateway name>
    std::string mqtt_username;
    std::string mqtt_password_file; // the password's file (its first line), kept off the command line
    Millis mqtt_reconnect_min{1'000};
    Millis mqtt_reconnect_max{30'000};

    // Alerts
    std::string alert_rules; // empty: <user data dir>/fleetscope/alerts.json (a missing file: no rules)
    std::size_t alerts_recent = 1000; // cleared alerts kept in memory for GET /v1/alerts and the UI
};

/// Describes one setting for generated UIs: a stable name (the CLI flag without `--`), a unit, a one-line
/// help.
struct SettingInfo {
    std::string_view name;
    std::string_view unit; // "", "ms", "s", "days", "bytes", "count"
    std::string_view help;
    bool repeatable = false; // a text setting the CLI takes several times, kept comma-separated
};

/// Calls `f(info, field)` for every field of `s`, in documentation order. `field` is a reference to a
/// `std::string`, `int`, `unsigned`, `std::size_t` or `Millis`, so one visitor can read or write it.
template <class S, class F>
void for_each_setting(S& s, F&& f)
{
    f(SettingInfo{"listen", "", "HOST:PORT to accept device connections on"}, s.listen);
    f(SettingInfo{"backlog", "count", "listen backlog (the kernel clamps it to net.core.somaxconn)"},
      s.backlog);
    f(SettingInfo{"max-connections", "count",
                  "open connections at most; 0 = file-descriptor ceiling less a reserve"},
      s.max_connections);
    f(SettingInfo{"workers", "count", "worker threads; 0 = one per core"}, s.workers);
    f(SettingInfo{"fiber-stack-bytes", "bytes", "stack size of each connection fiber"}, s.fiber_stack_bytes);
    f(SettingInfo{"stack-cache", "count", "fiber stacks each worker keeps for reuse"},
      s.stack_cache_per_worker);
    f(SettingInfo{"park-after", "ms", "quiet time before an idle connection releases its fiber and stack"},
      s.park_after);
    f(SettingInfo{"max-header-bytes", "bytes", "request line and header fields, at most (431 beyond)"},
      s.max_header_bytes);
    f(SettingInfo{"max-body-bytes", "bytes", "request body, at most (413 beyond)"}, s.max_body_bytes);
    f(SettingInfo{"max-samples", "count", "samples per request, at most"}, s.max_samples_per_request);
    f(SettingInfo{"max-metrics", "count", "metrics per sample, at most"}, s.max_metrics_per_sample);
    f(SettingInfo{"max-json-depth", "count", "JSON nesting depth, at most"}, s.max_json_depth);
    f(SettingInfo{"header-timeout", "ms", "time to receive a request's header, once its first byte arrived"},
      s.header_timeout);
    f(SettingInfo{"body-timeout", "ms", "time to receive a request's body"}, s.body_timeout);
    f(SettingInfo{"idle-timeout", "ms", "keep-alive connection idle time before it is closed"},
      s.idle_timeout);
    f(SettingInfo{"write-timeout", "ms", "time to write a response"}, s.write_timeout);
    f(
        SettingInfo{
            "drain-time", "ms",
            "after SIGTERM or SIGINT, time spent draining before stopping: /healthz answers 503 and each "
            "response closes its connection, so a balancer moves devices to other gateways; 0 = stop "
            "at once"},
        s.drain_time);
    f(SettingInfo{"store", "",
                  "where samples are stored: sqlite:PATH, or postgresql://USER@HOST/DB (any libpq URI; "
                  "postgresql:KEY=VALUE... for a conninfo); empty = sqlite: at --db"},
      s.store);
    f(SettingInfo{"db", "",
                  "SQLite database file (shorthand for --store sqlite:PATH); empty = the user's data "
                  "directory"},
      s.db_path);
    f(SettingInfo{"store-queue", "count",
                  "samples waiting for commit, at most (503 with Retry-After beyond)"},
      s.store_queue_samples);
    f(SettingInfo{"max-batch", "count", "samples per commit, at most"}, s.max_batch_samples);
    f(SettingInfo{"store-busy-timeout", "ms", "SQLite busy timeout when another process holds a lock"},
      s.store_busy_timeout);
    f(SettingInfo{"retry-after", "s", "Retry-After sent with 503"}, s.retry_after_seconds);
    f(SettingInfo{"store-max-bytes", "bytes",
                  "database size cap, a quota (503 'database full' beyond); 0 = unlimited"},
      s.store_max_bytes);
    f(SettingInfo{"retention", "days",
                  "samples and timeline points older than this many whole UTC days are deleted, checked "
                  "every ten minutes; 0 = kept forever"},
      s.retention_days);
    f(SettingInfo{"store-connect-timeout", "ms",
                  "time to connect to PostgreSQL, at start and when reconnecting after an outage"},
      s.store_connect_timeout);
    f(SettingInfo{"gateway-name", "",
                  "this gateway's name, recorded with its sessions and reported by /v1/devices; empty = the "
                  "host name"},
      s.gateway_name);
    f(SettingInfo{"sample-interval", "ms", "period of gateway metric snapshots"}, s.sample_interval);
    f(SettingInfo{"subscriber-queue", "count", "view updates buffered per UI subscriber before dropping"},
      s.subscriber_queue);
    f(
        SettingInfo{
            "stream-subscribers", "count",
            "GET /v1/stream subscribers (remote monitors) at once, at most (503 beyond); 0 = no stream"},
        s.stream_subscribers);
    f(
        SettingInfo{
            "stream-interval", "ms",
            "how often a GET /v1/stream subscriber is sent what arrived (snapshots coalesce to the newest)"},
        s.stream_interval);
    f(SettingInfo{"stale-after", "ms", "a device with no sample for this long is flagged stale"},
      s.stale_after);
    f(SettingInfo{"timeline-interval", "ms",
                  "period of the gateway metric timeline persisted with each session; 0 = off"},
      s.timeline_interval);
    f(SettingInfo{"token-file", "",
                  "device tokens (DEVICE SHA256-HEX per line); empty = no authentication. "
                  "Add one with: fleetscope-gateway token add"},
      s.token_file);
    f(SettingInfo{"operator-token-file", "",
                  "operator tokens (NAME SHA256-HEX per line); with it or token-file set, peers off loopback "
                  "need one to read devices and alerts. Add one with: fleetscope-gateway operator add"},
      s.operator_token_file);
    f(SettingInfo{"tls-cert", "", "PEM certificate (chain) for HTTPS; empty with tls-key = plain HTTP"},
      s.tls_cert);
    f(SettingInfo{"tls-key", "", "PEM private key of tls-cert"}, s.tls_key);
    f(SettingInfo{"influx-device-tag", "",
                  "line protocol (POST /write, /api/v2/write): the tag whose value is the device; a line "
                  "without it uses its host tag"},
      s.influx_device_tag);
    f(SettingInfo{"mqtt-broker", "",
                  "MQTT broker to subscribe through, mqtt://HOST:PORT or mqtts://HOST:PORT; empty = no MQTT"},
      s.mqtt_broker);
    f(
        SettingInfo{
            "mqtt-topic", "",
            "MQTT topic filter to subscribe to at QoS 1 (+ and # allowed; the first + segment names the "
            "device); repeat the flag, or separate with commas",
            true},
        s.mqtt_topics);
    f(SettingInfo{"mqtt-client-id", "",
                  "MQTT client id, which names the broker's persistent session; empty = fleetscope-<gateway "
                  "name>"},
      s.mqtt_client_id);
    f(SettingInfo{"mqtt-username", "", "MQTT user name; empty = none"}, s.mqtt_username);
    f(SettingInfo{"mqtt-password-file", "", "file whose first line is the MQTT password; empty = none"},
      s.mqtt_password_file);
    f(SettingInfo{"mqtt-reconnect-min", "ms", "first wait before reconnecting to the MQTT broker"},
      s.mqtt_reconnect_min);
    f(SettingInfo{"mqtt-reconnect-max", "ms",
                  "longest wait between reconnection attempts (the wait doubles from mqtt-reconnect-min)"},
      s.mqtt_reconnect_max);
    f(SettingInfo{"alert-rules", "",
                  "alert rules file (JSON); empty = alerts.json in the user's data directory"},
      s.alert_rules);
    f(SettingInfo{"alerts-recent", "count", "cleared alerts kept in memory for GET /v1/alerts, at most"},
      s.alerts_recent);
}

/// The default database path: `$STATE_DIRECTORY/fleetscope.db` under systemd (StateDirectory=fleetscope:
/// /var/lib/fleetscope), else `<XDG data home or ~/.local/share>/fleetscope/fleetscope.db` on Linux and the
/// platform's application-data folder elsewhere. Creates the folder. Throws std::runtime_error, saying which
/// variables are missing, when none of them is set: it never falls back to the working directory.
std::string default_db_path();

/// Where the store lives, from --store (or --db, its shorthand).
struct StoreTarget {
    enum class Kind { sqlite, postgresql };
    Kind kind = Kind::sqlite;
    std::string location; // a file path, or a libpq URI or conninfo
};

/// The store target the settings name; call validate() first (an invalid --store reads as SQLite).
StoreTarget store_target(const Settings& s);

/// The gateway's name: --gateway-name, else the host name ("gateway" when it has none).
std::string gateway_name(const Settings& s);

/// Worker count after resolving 0 to the core count.
unsigned resolved_workers(const Settings& s);

/// Checks ranges and forms: nothing when valid, else what is wrong and the expected form.
util::Result<void> validate(const Settings& s);

} // namespace fleetscope
