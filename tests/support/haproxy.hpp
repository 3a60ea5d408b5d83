// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// A real HAProxy in front of gateways for the tests: TCP mode, leastconn, /healthz checks, as the shipped
// example (packaging/haproxy/fleetscope-haproxy.cfg) configures it, listening on a free loopback port. Its
// admin socket tells the test which gateways HAProxy counts as up. Stopped by the destructor, also when the
// test fails.

#include "support/child_process.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace fleetscope::testing {

/// Owned by the thread that started it (see ChildProcess).
class Haproxy {
public:
    struct Backend {
        std::string name;
        std::uint16_t port = 0;
    };

    /// Why HAProxy cannot run here, or empty.
    static std::string unavailable();

    Haproxy() = default;
    ~Haproxy();
    Haproxy(const Haproxy&) = delete;
    Haproxy& operator=(const Haproxy&) = delete;

    /// Writes the configuration, starts HAProxy in the foreground and waits until it accepts connections.
    /// `check_interval` is the health checks' `inter`; two failed checks mark a gateway down. Throws
    /// std::runtime_error with HAProxy's output when it does not start.
    void start(const std::vector<Backend>& backends,
               std::chrono::milliseconds check_interval = std::chrono::milliseconds(250));
    void stop();

    std::uint16_t port() const { return port_; }
    /// Each backend's state as HAProxy sees it now: "UP", "DOWN", "MAINT", "UP 1/2"...
    std::map<std::string, std::string> states() const;
    /// Waits until `name` is in a state starting with `state`; false after `timeout`.
    bool wait_state(const std::string& name, const std::string& state,
                    std::chrono::milliseconds timeout) const;
    const std::string& config() const { return config_; }

private:
    std::string dir_;
    std::string config_;
    std::uint16_t port_ = 0;
    ChildProcess process_;
};

} // namespace fleetscope::testing
