// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/net/server.hpp"

#include "core/metrics/registry.hpp"
#include "core/runtime/worker.hpp"
#include "core/runtime/yield.hpp"

#include <boost/asio/post.hpp>
#include <boost/fiber/operations.hpp>

#include <algorithm>
#include <cerrno>

namespace fleetscope::net {

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace std::chrono_literals;

Server::Server(runtime::Runtime& runtime, Handler& handler, metrics::Registry& metrics,
               const Settings& settings, std::uint64_t max_connections, asio::ssl::context* tls)
    : runtime_(runtime)
    , metrics_(metrics)
    , settings_(settings)
    , max_connections_(max_connections)
{
    for (std::size_t i = 0; i < runtime.size(); ++i)
        nets_.push_back(
            std::make_unique<WorkerNet>(runtime.worker(i), handler, metrics.slot(i), settings, tls));
}

Server::~Server() = default;

std::uint64_t Server::connections_open() const
{
    std::uint64_t n = 0;
    for (std::size_t i = 0; i < runtime_.size(); ++i)
        n += runtime_.worker(i).counters().connections.load(std::memory_order_relaxed);
    return n;
}

void Server::start(Listener& listener)
{
    listener_ = &listener;
    for (auto& n : nets_)
        asio::post(n->worker().io(), [net = n.get()] { net->start(); });
    runtime_.worker(0).post_spawn([this, &listener] { accept_loop(listener); });
}

void Server::stop()
{
    if (stopping_.exchange(true))
        return;
    if (listener_) {
        asio::post(runtime_.worker(0).io(), [this] { listener_->close(); });
    }
    for (auto& n : nets_)
        asio::post(n->worker().io(), [net = n.get()] { net->stop(); });
}

void Server::accept_loop(Listener& listener)
{
    // This fiber does nothing but accept and hand off: it never waits on a handler, a lock or the store.
    auto& slot = metrics_.slot(runtime::Worker::current()->index());
    auto backoff = 5ms;
    while (!stopping_.load(std::memory_order_relaxed)) {
        if (connections_open() >= max_connections_) {
            // At the ceiling: leave new connections in the kernel's queue until one closes.
            boost::this_fiber::sleep_for(10ms);
            continue;
        }
        runtime::Worker& target = runtime_.least_loaded();
        boost::system::error_code ec;
        tcp::endpoint peer; // filled by accept itself: knowing the peer costs no getpeername
        Socket socket = listener.acceptor().async_accept(target.io(), peer, runtime::yield[ec]);
        if (stopping_.load(std::memory_order_relaxed) || ec == asio::error::operation_aborted ||
            !listener.acceptor().is_open())
            return;
        if (ec) {
            if (ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space ||
                ec == asio::error::no_memory || ec.value() == ENFILE) {
                // Out of file descriptors: the pending connection stays queued in the kernel; retrying at
                // once would spin. Back off, count it, keep serving the connections we have.
                backoffs_.fetch_add(1, std::memory_order_relaxed);
                boost::this_fiber::sleep_for(backoff);
                backoff = std::min<std::chrono::milliseconds>(backoff * 2, 1s);
            }
            continue;
        }
        backoff = 5ms;
        slot.accepts.add();
        socket.set_option(tcp::no_delay(true), ec);
        target.counters().connections.fetch_add(1, std::memory_order_relaxed);
        asio::post(target.io(), [net = nets_[target.index()].get(), s = std::move(socket),
                                 from = peer.address()]() mutable { net->adopt(std::move(s), from); });
    }
}

} // namespace fleetscope::net
