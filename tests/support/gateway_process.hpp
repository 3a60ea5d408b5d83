// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// The headless gateway binary (fleetscope-gateway from FLEETSCOPE_BIN_DIR) as a child process of the test:
// started with the test's flags, ready once it printed "listening on 127.0.0.1:PORT", stopped by signal or
// killed outright. Its stdout and stderr go to one log file, quoted when something fails.

#include "support/child_process.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace fleetscope::testing {

/// Owned by the thread that started it (see ChildProcess).
class GatewayProcess {
public:
    /// The gateway binary, or empty with `why` set when FLEETSCOPE_BIN_DIR is unset or lacks it.
    static std::string program(std::string& why);

    GatewayProcess() = default;
    GatewayProcess(const GatewayProcess&) = delete;
    GatewayProcess& operator=(const GatewayProcess&) = delete;

    /// Starts `program` with `args` (add --listen 127.0.0.1:0) and waits up to `timeout` for its "listening
    /// on" line. Throws std::runtime_error with its log when it exits or stays silent.
    void start(const std::string& program, const std::vector<std::string>& args, const std::string& log_path,
               std::chrono::milliseconds timeout = std::chrono::seconds(20));
    std::uint16_t port() const { return port_; }
    pid_t pid() const { return process_.pid(); }
    bool running() { return process_.running(); }
    void signal(int sig) { process_.signal(sig); }
    /// Waits for the process to end; its wait status, or nothing.
    std::optional<int> wait(std::chrono::milliseconds timeout) { return process_.wait(timeout); }
    std::string log() const { return tail_of(log_path_, 4000); }

private:
    ChildProcess process_;
    std::string log_path_;
    std::uint16_t port_ = 0;
};

} // namespace fleetscope::testing
