// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <cstdint>
#include <mutex>
#include <string>

namespace fleetscope::net {

/// A bound, listening TCP socket and what the kernel made of its settings. Created by the gateway's
/// controlling thread on the accept worker's io_context; from then on used only by the accept fiber on that
/// worker, except for close() (that worker) and with_handle() (the metrics sampler), which exclude each
/// other.
class Listener {
public:
    /// Binds `address` ("HOST:PORT", "[v6]:PORT"; port 0 picks a free one) and listens with `backlog`.
    /// Throws std::runtime_error naming the address and the reason (in use, not permitted, bad address).
    Listener(boost::asio::io_context& io, const std::string& address, int backlog);

    boost::asio::ip::tcp::acceptor& acceptor() { return acceptor_; }

    /// Stops listening. On the accept worker's thread.
    void close()
    {
        std::lock_guard lk(handle_mutex_);
        boost::system::error_code ignored;
        acceptor_.close(ignored);
    }

    /// Calls `f` with the listening descriptor (-1 once closed) while close() cannot run, so that another
    /// thread never reads the acceptor as it closes nor samples a descriptor number that was reused. Any
    /// thread.
    template <class F>
    auto with_handle(F&& f)
    {
        std::lock_guard lk(handle_mutex_);
        return f(static_cast<int>(acceptor_.native_handle()));
    }

    /// "HOST:PORT" as bound.
    std::string local_address() const { return local_; }
    std::uint16_t port() const { return port_; }

    /// The backlog the kernel applies: the requested one clamped to net.core.somaxconn on Linux.
    int effective_backlog() const { return effective_backlog_; }

private:
    boost::asio::ip::tcp::acceptor acceptor_;
    std::mutex handle_mutex_; // close() against with_handle()
    std::string local_;
    std::uint16_t port_ = 0;
    int effective_backlog_ = 0;
};

} // namespace fleetscope::net
