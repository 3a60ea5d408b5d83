// SPDX-License-Identifier: GPL-3.0-or-later
#include "support/haproxy.hpp"

#include <arpa/inet.h>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <netinet/in.h>
#include <signal.h>
#include <sstream>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/un.h>
#include <thread>
#include <unistd.h>

namespace fleetscope::testing {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

std::string haproxy_path()
{
    return find_program({"/usr/sbin/haproxy", "/usr/bin/haproxy", "/usr/local/sbin/haproxy"});
}

/// One command on HAProxy's admin socket; its whole answer.
std::string admin(const std::string& socket_path, const std::string& command)
{
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return {};
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, socket_path.c_str(), sizeof addr.sun_path - 1);
    std::string out;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
        const std::string line = command + "\n";
        if (::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size())) {
            char buf[4096];
            ssize_t n;
            while ((n = ::read(fd, buf, sizeof buf)) > 0)
                out.append(buf, static_cast<std::size_t>(n));
        }
    }
    ::close(fd);
    return out;
}

} // namespace

std::string Haproxy::unavailable()
{
    return haproxy_path().empty() ? "haproxy is missing: install it (packaging/setup-debian.sh)"
                                  : std::string();
}

Haproxy::~Haproxy()
{
    stop();
    if (!dir_.empty()) {
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }
}

void Haproxy::start(const std::vector<Backend>& backends, std::chrono::milliseconds check_interval)
{
    if (const auto why = unavailable(); !why.empty())
        throw std::runtime_error(why);
    if (dir_.empty()) {
        std::string templ = (fs::temp_directory_path() / "fleetscope-haproxy.XXXXXX").string();
        if (!mkdtemp(templ.data()))
            throw std::runtime_error("cannot make a temporary folder for HAProxy");
        dir_ = templ;
    }
    for (int attempt = 0; attempt < 5; ++attempt) {
        port_ = free_port();
        // The directives of packaging/haproxy/fleetscope-haproxy.cfg, with loopback addresses, faster checks
        // and an admin socket for the test.
        std::ostringstream cfg;
        // maxconn: two descriptors per connection, and the machine's limit is 20,000 per process.
        cfg << "global\n"
            << "    maxconn 4096\n"
            << "    stats socket " << dir_ << "/admin.sock mode 600 level admin\n"
            << "defaults\n"
            << "    mode tcp\n"
            << "    timeout connect 3s\n"
            << "    timeout client 330s\n"
            << "    timeout server 330s\n"
            << "    option redispatch\n"
            << "    retries 2\n"
            << "frontend devices\n"
            << "    bind 127.0.0.1:" << port_ << "\n"
            << "    default_backend gateways\n"
            << "backend gateways\n"
            << "    balance leastconn\n"
            << "    option httpchk\n"
            << "    http-check send meth GET uri /healthz ver HTTP/1.1 hdr Host fleetscope\n"
            << "    http-check expect status 200\n"
            << "    default-server check inter " << check_interval.count() << "ms fall 2 rise 2\n";
        for (const Backend& b : backends)
            cfg << "    server " << b.name << " 127.0.0.1:" << b.port << "\n";
        config_ = cfg.str();
        const std::string path = dir_ + "/haproxy.cfg";
        {
            std::ofstream out(path, std::ios::trunc);
            out << config_;
        }
        ChildProcess::Options opt;
        // -db: stay in the foreground, so that the test owns the process and its death signal applies.
        opt.argv = {haproxy_path(), "-db", "-f", path};
        opt.log_path = dir_ + "/haproxy.log";
        opt.death_signal = SIGKILL;
        process_.start(opt);
        const auto deadline = std::chrono::steady_clock::now() + 10s;
        while (std::chrono::steady_clock::now() < deadline && process_.running()) {
            if (can_connect(port_) && !states().empty())
                return;
            std::this_thread::sleep_for(20ms);
        }
        const std::string log = tail_of(opt.log_path);
        process_.stop(SIGKILL, 2s);
        if (log.find("cannot bind") == std::string::npos &&
            log.find("Address already in use") == std::string::npos)
            throw std::runtime_error("HAProxy did not start on 127.0.0.1:" + std::to_string(port_) + ": " +
                                     log);
    }
    throw std::runtime_error("HAProxy found no free port in 5 attempts");
}

void Haproxy::stop()
{
    if (process_.running())
        process_.stop(SIGTERM, 5s);
}

std::map<std::string, std::string> Haproxy::states() const
{
    // "show stat" is CSV: pxname,svname,...,status (column 18).
    std::map<std::string, std::string> out;
    std::istringstream in(admin(dir_ + "/admin.sock", "show stat"));
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#')
            continue;
        std::vector<std::string> cols;
        std::stringstream ss(line);
        std::string col;
        while (std::getline(ss, col, ','))
            cols.push_back(col);
        if (cols.size() > 17 && cols[0] == "gateways" && cols[1] != "BACKEND")
            out[cols[1]] = cols[17];
    }
    return out;
}

bool Haproxy::wait_state(const std::string& name, const std::string& state,
                         std::chrono::milliseconds timeout) const
{
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        const auto s = states();
        if (auto it = s.find(name); it != s.end() && it->second.starts_with(state))
            return true;
        if (std::chrono::steady_clock::now() >= deadline)
            return false;
        std::this_thread::sleep_for(25ms);
    }
}

} // namespace fleetscope::testing
