// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "core/alerts/alerts.hpp"
#include "core/metrics/hub.hpp"
#include "core/metrics/snapshot.hpp"
#include "core/settings.hpp"
#include "core/util/result.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace fleetscope {

/// The facade the apps use: owns the workers, the listener, the store and the metrics sampler.
/// Owned by one controlling thread (main or the GUI thread); start/stop/subscribe are called from it only.
/// The gateway itself runs on its own worker, writer and sampler threads, never on the caller's.
class Gateway {
public:
    explicit Gateway(Settings settings);
    ~Gateway(); // stop()
    Gateway(const Gateway&) = delete;
    Gateway& operator=(const Gateway&) = delete;

    /// Opens the store, binds, and starts accepting. Throws std::runtime_error with a message naming what
    /// failed (address in use, database unreadable, invalid setting).
    void start();

    /// Stops accepting, lets in-flight requests finish, commits, closes idle connections, joins every thread.
    /// Idempotent.
    void stop();

    bool running() const;

    /// Starts draining before a stop: /healthz answers 503 (a balancer stops sending new connections) and
    /// every response closes its connection (devices reconnect, through the balancer, elsewhere); requests
    /// are still served and committed. stop() ends it. Any thread.
    void drain();
    bool draining() const;

    /// This gateway's name (--gateway-name, else the host name); known after start().
    const std::string& name() const;

    /// "HOST:PORT" actually bound (the port is resolved when the setting asked for port 0).
    std::string listening_address() const;
    std::uint16_t port() const;

    /// Effective limits, known after start().
    std::uint64_t connection_ceiling() const;
    int effective_backlog() const;
    const std::string& db_path() const;
    /// Where the store is, for messages: db_path() without a PostgreSQL URI's password.
    std::string store_location() const;

    const Settings& settings() const;

    /// Whether POST /v1/telemetry needs a device token (token-file set) and whether connections speak HTTPS
    /// (tls-cert and tls-key set). Known from the settings; loaded and checked by start().
    bool auth_enabled() const;
    bool tls_enabled() const;

    /// A new pair of lock-free queues fed with a Snapshot every sample interval and each committed sample.
    /// Call from the controlling thread; the subscription ends when the returned pointer is released.
    std::shared_ptr<metrics::Subscription> subscribe();

    /// The latest snapshot, computed now (for /metrics and tests). Safe from any thread.
    metrics::Snapshot snapshot() const;

    /// The session this run records in the database (see store::SessionRow); 0 before start().
    std::int64_t session_id() const;
    /// Marks the recording span [from_ts, to_ts] (ms since epoch) of this session, e.g. for a later export.
    /// Nothing when recorded, else what is wrong (see store::Writer::add_mark). Call from the controlling
    /// thread while running.
    util::Result<void> add_mark(const std::string& label, std::int64_t from_ts, std::int64_t to_ts);

    /// The alerts engine: active alerts, recent history, acknowledge, and event feeds (see alerts.hpp). It
    /// lives as long as the Gateway, so a UI may subscribe before start(); start() loads the rules file
    /// (alerts::rules_path) and throws when it is invalid. Its methods are safe from any thread.
    alerts::Engine& alerts();
    const alerts::Engine& alerts() const;

    /// Validates and applies `rules` live (unchanged rules keep their alerts); the error says what is wrong.
    /// Does not write the rules file: alerts::save_rules does. Any thread.
    util::Result<void> set_alert_rules(std::vector<alerts::Rule> rules);

    /// What reload() did with one file.
    struct Reloaded {
        std::string file;  // e.g. "token-file /etc/fleetscope/tokens"
        std::string error; // empty: the file was applied; else why it was not, and that the old one stays
        std::string state; // what is in force now, e.g. "12 device tokens"
    };
    /// Rereads the token files (those that are set: device and operator tokens) and the alert rules file, and
    /// applies each one that is valid; an invalid one leaves what was in force. Connections stay open and
    /// requests in flight are unaffected: a request verifies against the old tokens or the new ones. SIGHUP
    /// in fleetscope-gateway. Controlling thread, while running.
    std::vector<Reloaded> reload();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace fleetscope
