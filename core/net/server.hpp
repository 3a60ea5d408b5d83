// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "core/net/connection.hpp"
#include "core/net/listener.hpp"

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

namespace fleetscope::runtime {
class Runtime;
}
namespace fleetscope::metrics {
class Registry;
}

namespace fleetscope::net {

/// Accepts connections and places each on the worker with the fewest, where its fiber serves it. Owned by the
/// gateway's controlling thread (start/stop); the accept fiber runs on worker 0 and each WorkerNet on its own
/// worker; figures are atomics readable from any thread.
class Server {
public:
    /// `tls` null: plain HTTP; otherwise HTTPS with that context, which must outlive the server.
    /// `handler` serves every connection's requests and outlives the server.
    Server(runtime::Runtime& runtime, Handler& handler, metrics::Registry& metrics, const Settings& settings,
           std::uint64_t max_connections, boost::asio::ssl::context* tls = nullptr);
    ~Server();

    /// Starts the accept fiber on worker 0 and every worker's deadline timer.
    void start(Listener& listener);
    /// Closes the listener and asks every worker to close idle connections and finish busy ones. Returns at
    /// once; the runtime's join waits for the last fiber.
    void stop();

    std::uint64_t accept_backoffs() const { return backoffs_.load(std::memory_order_relaxed); }
    std::uint64_t connections_open() const;
    std::uint64_t max_connections() const { return max_connections_; }

private:
    void accept_loop(Listener& listener);

    runtime::Runtime& runtime_;
    metrics::Registry& metrics_;
    Settings settings_;
    std::uint64_t max_connections_;
    std::vector<std::unique_ptr<WorkerNet>> nets_;
    Listener* listener_ = nullptr;
    std::atomic<bool> stopping_{false};
    std::atomic<std::uint64_t> backoffs_{0};
};

} // namespace fleetscope::net
