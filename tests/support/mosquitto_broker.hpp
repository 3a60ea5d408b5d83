// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// A real Mosquitto broker for the tests: listening on a free loopback port with a configuration of its own in
// a temporary folder, persistence on (so a restart keeps the sessions and their queued messages), anonymous
// access, no limit on the messages queued for an offline client. Stopped by the destructor, also when the
// test fails; its folder goes with it.

#include "support/child_process.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace fleetscope::testing {

/// Owned by the thread that started it (see ChildProcess).
class MosquittoBroker {
public:
    /// Why Mosquitto cannot run here (mosquitto or mosquitto_pub missing), or empty.
    static std::string unavailable();

    MosquittoBroker() = default;
    ~MosquittoBroker();
    MosquittoBroker(const MosquittoBroker&) = delete;
    MosquittoBroker& operator=(const MosquittoBroker&) = delete;

    /// Starts the broker (again on the same port and folder after stop()) and waits until it accepts
    /// connections. Throws std::runtime_error with its log when it does not start.
    void start();
    /// SIGTERM: Mosquitto saves its persistence file on the way out.
    void stop();

    std::uint16_t port() const { return port_; }
    /// mqtt://127.0.0.1:PORT
    std::string url() const;
    std::string log() const;

    /// Runs mosquitto_pub against this broker with `args` (e.g. {"-q", "1", "-t", "t", "-m", "x"}); its exit
    /// code.
    int publish(const std::vector<std::string>& args) const;
    /// mosquitto_pub at QoS 1 sending each line of the file `lines` as one message to `topic`, as a command
    /// to run (ChildProcess::start or run_to_end). It exits 0 once the broker acknowledged every message.
    ChildProcess::Options publish_lines(const std::string& topic, const std::string& lines) const;

private:
    std::string dir_;
    std::uint16_t port_ = 0;
    ChildProcess process_;
};

} // namespace fleetscope::testing
