// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// A real PostgreSQL 15 for the tests: initdb in a temporary folder owned by the `postgres` user when the test
// runs as root (PostgreSQL refuses root; CI runs as root), a server listening on 127.0.0.1 only on a free
// port, with its Unix socket in that folder. The destructor stops it and removes the folder, also when the
// test failed; a test killed outright takes the server with it (ChildProcess's death signal).

#include "support/child_process.hpp"

#include <cstdint>
#include <string>

namespace fleetscope::testing {

/// Owned by the thread that started it (see ChildProcess).
class PostgresServer {
public:
    /// Why the server cannot run here (binaries or the postgres user missing), or empty. Tests QSKIP with it.
    static std::string unavailable();

    PostgresServer() = default;
    ~PostgresServer(); // stop() and remove the folder
    PostgresServer(const PostgresServer&) = delete;
    PostgresServer& operator=(const PostgresServer&) = delete;

    /// initdb (once) and start; waits until it accepts connections. Throws std::runtime_error with the
    /// server's log when it does not come up within 30 s.
    void start();
    /// A fast shutdown (SIGINT: sessions are ended, the server checkpoints), waiting for it to finish.
    void stop();
    /// stop() then start() on the same folder and port: what a restart of the database looks like to clients.
    void restart();
    bool running();

    std::uint16_t port() const { return port_; }
    /// The postmaster's process id (its backends are its children).
    pid_t pid() const { return server_.pid(); }
    /// A libpq URI for database `db` as the superuser `fleetscope` (trust authentication, loopback only).
    std::string uri(const std::string& db = "postgres") const;
    /// Creates a fresh database and returns its URI.
    std::string create_database(const std::string& name);
    /// Creates a fresh schema in database `postgres` and returns a URI whose search_path is that schema: a
    /// clean slate for the store, made much faster than a database.
    std::string create_schema(const std::string& name);
    /// Runs one SQL statement as the superuser on `db` (a database name, or a URI); throws with the server's
    /// message on an error.
    void execute(const std::string& sql, const std::string& db = "postgres");
    /// The first column of the first row of a query, as text ("" when there is none).
    std::string query_value(const std::string& sql, const std::string& db = "postgres");
    /// Creates a login role that must give `password` over TCP (scram-sha-256), for tests of refused logins.
    void add_password_role(const std::string& role, const std::string& password);
    const std::string& folder() const { return dir_; }
    std::string log_tail() const;

private:
    std::string dir_;
    std::uint16_t port_ = 0;
    bool initialised_ = false;
    ChildProcess server_;
};

} // namespace fleetscope::testing
