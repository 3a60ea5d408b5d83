// SPDX-License-Identifier: GPL-3.0-or-later
#include "support/mosquitto_broker.hpp"

#include <arpa/inet.h>
#include <filesystem>
#include <fstream>
#include <netinet/in.h>
#include <signal.h>
#include <stdexcept>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

namespace fleetscope::testing {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

std::string mosquitto_path()
{
    return find_program({"/usr/sbin/mosquitto", "/usr/bin/mosquitto", "/usr/local/sbin/mosquitto"});
}

std::string mosquitto_pub_path()
{
    return find_program({"/usr/bin/mosquitto_pub", "/usr/local/bin/mosquitto_pub"});
}

} // namespace

std::string MosquittoBroker::unavailable()
{
    if (mosquitto_path().empty())
        return "mosquitto is missing: install it (packaging/setup-debian.sh)";
    if (mosquitto_pub_path().empty())
        return "mosquitto_pub is missing: install mosquitto-clients (packaging/setup-debian.sh)";
    return {};
}

MosquittoBroker::~MosquittoBroker()
{
    stop();
    if (!dir_.empty()) {
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }
}

std::string MosquittoBroker::url() const
{
    return "mqtt://127.0.0.1:" + std::to_string(port_);
}

std::string MosquittoBroker::log() const
{
    return tail_of(dir_ + "/mosquitto.log", 4000);
}

void MosquittoBroker::start()
{
    if (const auto why = unavailable(); !why.empty())
        throw std::runtime_error(why);
    if (dir_.empty()) {
        std::string templ = (fs::temp_directory_path() / "fleetscope-mosquitto.XXXXXX").string();
        if (!mkdtemp(templ.data()))
            throw std::runtime_error("cannot make a temporary folder for Mosquitto");
        dir_ = templ;
    }
    const bool restart = port_ != 0;
    for (int attempt = 0; attempt < 5; ++attempt) {
        if (!restart)
            port_ = free_port();
        const std::string path = dir_ + "/mosquitto.conf";
        {
            std::ofstream cfg(path, std::ios::trunc);
            cfg << "listener " << port_ << " 127.0.0.1\n"
                << "allow_anonymous true\n"
                << "persistence true\n"
                << "persistence_location " << dir_
                << "/\n"
                // Unlimited: the test publishes thousands while the gateway is away.
                << "max_queued_messages 0\n"
                << "log_dest file " << dir_ << "/mosquitto.log\n"
                << "log_type error\nlog_type warning\nlog_type notice\n";
            // As root Mosquitto would switch to its own user, who cannot write this folder.
            if (running_as_root())
                cfg << "user root\n";
        }
        ChildProcess::Options opt;
        opt.argv = {mosquitto_path(), "-c", path};
        opt.log_path = dir_ + "/stdout.log";
        opt.death_signal = SIGKILL;
        process_.start(opt);
        const auto deadline = std::chrono::steady_clock::now() + 10s;
        while (std::chrono::steady_clock::now() < deadline && process_.running()) {
            if (can_connect(port_))
                return;
            std::this_thread::sleep_for(20ms);
        }
        const std::string why = log() + tail_of(opt.log_path);
        process_.stop(SIGKILL, 2s);
        if (restart || why.find("Address already in use") == std::string::npos)
            throw std::runtime_error("Mosquitto did not start on 127.0.0.1:" + std::to_string(port_) + ": " +
                                     why);
    }
    throw std::runtime_error("Mosquitto found no free port in 5 attempts");
}

void MosquittoBroker::stop()
{
    if (process_.running())
        process_.stop(SIGTERM, 5s);
}

int MosquittoBroker::publish(const std::vector<std::string>& args) const
{
    ChildProcess::Options opt;
    opt.argv = {mosquitto_pub_path(), "-h", "127.0.0.1", "-p", std::to_string(port_)};
    opt.argv.insert(opt.argv.end(), args.begin(), args.end());
    opt.log_path = dir_ + "/publish.log";
    return run_to_end(opt, 60s);
}

ChildProcess::Options MosquittoBroker::publish_lines(const std::string& topic, const std::string& lines) const
{
    ChildProcess::Options opt;
    // -l reads the messages from stdin, which ChildProcess does not redirect: a shell does.
    opt.argv = {"/bin/sh", "-c",
                "exec " + mosquitto_pub_path() + " -h 127.0.0.1 -p " + std::to_string(port_) + " -q 1 -t '" +
                    topic + "' -l < '" + lines + "'"};
    opt.log_path = dir_ + "/publish.log";
    return opt;
}

} // namespace fleetscope::testing
