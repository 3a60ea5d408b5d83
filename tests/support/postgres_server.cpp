// SPDX-License-Identifier: GPL-3.0-or-later
#include "support/postgres_server.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <libpq-fe.h>
#include <memory>
#include <pwd.h>
#include <signal.h>
#include <stdexcept>
#include <thread>
#include <unistd.h>

namespace fleetscope::testing {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

constexpr const char* kUser = "fleetscope"; // the superuser initdb creates

std::string bin_dir()
{
    if (const char* env = std::getenv("FLEETSCOPE_PG_BIN"); env && *env)
        return env;
    return "/usr/lib/postgresql/15/bin";
}

/// The user the server runs as when we are root, else nothing (it runs as us).
std::optional<std::string> server_user()
{
    if (!running_as_root())
        return std::nullopt;
    return std::string("postgres");
}

struct ConnCloser {
    void operator()(PGconn* c) const { PQfinish(c); }
};
struct ResultClearer {
    void operator()(PGresult* r) const { PQclear(r); }
};

} // namespace

std::string PostgresServer::unavailable()
{
    for (const char* tool : {"initdb", "postgres"}) {
        const std::string path = bin_dir() + "/" + tool;
        if (access(path.c_str(), X_OK) != 0)
            return path + " is missing: install postgresql-15 (packaging/setup-debian.sh), or set "
                          "FLEETSCOPE_PG_BIN to PostgreSQL's bin folder";
    }
    if (running_as_root() && !getpwnam("postgres"))
        return "running as root and there is no 'postgres' user to run PostgreSQL as (it refuses root)";
    return {};
}

PostgresServer::~PostgresServer()
{
    try {
        stop();
    } catch (...) {
    }
    if (!dir_.empty()) {
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }
}

void PostgresServer::start()
{
    if (const auto why = unavailable(); !why.empty())
        throw std::runtime_error(why);
    if (dir_.empty()) {
        // /tmp, not $TMPDIR, when we are root: the postgres user must be able to reach the folder.
        const fs::path base = running_as_root() ? fs::path("/tmp") : fs::temp_directory_path();
        std::string templ = (base / "fleetscope-pg.XXXXXX").string();
        if (!mkdtemp(templ.data()))
            throw std::runtime_error("cannot make a temporary folder under " + base.string());
        dir_ = templ;
        if (const auto user = server_user()) {
            const passwd* pw = getpwnam(user->c_str());
            if (!pw || chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0)
                throw std::runtime_error("cannot give " + dir_ + " to the user " + *user);
        }
    }
    if (!initialised_) {
        ChildProcess::Options init;
        init.argv = {bin_dir() + "/initdb", "-D", dir_ + "/data", "-U",          kUser,
                     "--auth=trust",        "-E", "UTF8",         "--no-locale", "--no-sync"};
        if (const auto user = server_user()) {
            // As the brief of this fixture says: initdb as the unprivileged user, through runuser.
            init.argv.insert(init.argv.begin(), {"/usr/sbin/runuser", "-u", *user, "--"});
            if (access(init.argv[0].c_str(), X_OK) != 0)
                init.argv[0] = "/sbin/runuser";
        }
        init.log_path = dir_ + "/initdb.log";
        if (const int rc = run_to_end(init, 60s); rc != 0)
            throw std::runtime_error("initdb failed with exit code " + std::to_string(rc) + ": " +
                                     tail_of(init.log_path));
        initialised_ = true;
    }

    // The port is chosen free a moment before the server binds it; another process may take it meanwhile, so
    // a server that cannot bind is started again on another port.
    for (int attempt = 0; attempt < 5; ++attempt) {
        if (port_ == 0 || attempt > 0)
            port_ = free_port();
        ChildProcess::Options opt;
        opt.argv = {bin_dir() + "/postgres",
                    "-D",
                    dir_ + "/data",
                    "-c",
                    "listen_addresses=127.0.0.1",
                    "-p",
                    std::to_string(port_),
                    "-c",
                    "unix_socket_directories=" + dir_,
                    "-c",
                    "max_connections=200",
                    "-c",
                    "log_min_messages=warning",
                    "-c",
                    "log_line_prefix=%m [%p] "};
        opt.run_as = server_user();
        opt.log_path = dir_ + "/server.log";
        opt.death_signal = SIGQUIT; // immediate shutdown: the postmaster takes its backends down with it
        server_.start(opt);
        const std::string ping = "host=127.0.0.1 port=" + std::to_string(port_) +
                                 " dbname=postgres user=" + kUser + " connect_timeout=2";
        const auto deadline = std::chrono::steady_clock::now() + 30s;
        while (std::chrono::steady_clock::now() < deadline) {
            if (PQping(ping.c_str()) == PQPING_OK)
                return;
            if (!server_.running())
                break;
            std::this_thread::sleep_for(50ms);
        }
        const std::string log = tail_of(dir_ + "/server.log");
        server_.stop(SIGQUIT, 5s);
        if (log.find("could not bind") == std::string::npos &&
            log.find("Address already in use") == std::string::npos)
            throw std::runtime_error("PostgreSQL did not start on 127.0.0.1:" + std::to_string(port_) +
                                     " within 30 s; its log: " + log);
    }
    throw std::runtime_error("PostgreSQL found no free port in 5 attempts; its log: " + log_tail());
}

void PostgresServer::stop()
{
    if (server_.running())
        server_.stop(SIGINT, 30s);
}

void PostgresServer::restart()
{
    stop();
    const std::uint16_t port = port_;
    start();
    if (port_ != port)
        throw std::runtime_error("PostgreSQL came back on port " + std::to_string(port_) + ", not " +
                                 std::to_string(port) + " (the old one was taken meanwhile)");
}

bool PostgresServer::running()
{
    return server_.running();
}

std::string PostgresServer::uri(const std::string& db) const
{
    return "postgresql://" + std::string(kUser) + "@127.0.0.1:" + std::to_string(port_) + "/" + db;
}

void PostgresServer::execute(const std::string& sql, const std::string& db)
{
    query_value(sql, db);
}

std::string PostgresServer::query_value(const std::string& sql, const std::string& db)
{
    const std::string target = db.starts_with("postgresql://") ? db : uri(db);
    std::unique_ptr<PGconn, ConnCloser> conn(PQconnectdb(target.c_str()));
    if (PQstatus(conn.get()) != CONNECTION_OK)
        throw std::runtime_error("cannot connect to " + target + ": " + PQerrorMessage(conn.get()));
    std::unique_ptr<PGresult, ResultClearer> res(PQexec(conn.get(), sql.c_str()));
    const auto st = PQresultStatus(res.get());
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        throw std::runtime_error("'" + sql + "' failed: " + PQresultErrorMessage(res.get()));
    if (st == PGRES_TUPLES_OK && PQntuples(res.get()) > 0 && PQnfields(res.get()) > 0)
        return PQgetvalue(res.get(), 0, 0);
    return {};
}

std::string PostgresServer::create_database(const std::string& name)
{
    execute("CREATE DATABASE \"" + name + "\"");
    return uri(name);
}

std::string PostgresServer::create_schema(const std::string& name)
{
    execute("CREATE SCHEMA \"" + name + "\"");
    return uri("postgres") + "?options=-csearch_path%3D" + name;
}

void PostgresServer::add_password_role(const std::string& role, const std::string& password)
{
    execute("CREATE ROLE \"" + role + "\" LOGIN PASSWORD '" + password + "'");
    // pg_hba.conf is read top down and initdb's lines trust everyone: this one goes first.
    const std::string hba = dir_ + "/data/pg_hba.conf";
    const std::string rest = tail_of(hba, std::string::npos);
    {
        std::ofstream out(hba, std::ios::trunc);
        out << "host all " << role << " 127.0.0.1/32 scram-sha-256\n" << rest;
    }
    execute("SELECT pg_reload_conf()");
}

std::string PostgresServer::log_tail() const
{
    return dir_.empty() ? std::string() : tail_of(dir_ + "/server.log");
}

} // namespace fleetscope::testing
