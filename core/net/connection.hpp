// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "core/net/deadline.hpp"
#include "core/net/handler.hpp"
#include "core/net/wire_state.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/intrusive/list.hpp>

#include <memory>

namespace boost::asio::ssl {
class context;
}
namespace fleetscope::runtime {
class Worker;
}

namespace fleetscope::net {

/// A socket bound to its worker's io_context executor type: no type-erased executor on the hot path.
using Socket = boost::asio::basic_stream_socket<boost::asio::ip::tcp, boost::asio::io_context::executor_type>;

using MemberHook =
    boost::intrusive::list_base_hook<boost::intrusive::tag<struct MemberTag>,
                                     boost::intrusive::link_mode<boost::intrusive::auto_unlink>>;

struct TlsSession;
template <class Stream>
class Wire;

/// One accepted socket and what must outlive its fiber: with a parked (fiber-less) idle connection, this is
/// all the connection costs in user space. Owned by its WorkerNet and touched only on that worker's thread.
struct Connection : WireState, MemberHook {
    explicit Connection(Socket s);
    ~Connection();

    Socket socket;
    std::unique_ptr<TlsSession> tls; // HTTPS: the TLS state over `socket`, which must outlive any fiber
    bool parked = false;
    Session session; // the handler's, between requests
};

/// The per-worker half of the server: the worker's connections, their deadlines and their fibers, each of
/// which serves its connection's requests with the Handler. Lives on its worker's thread; other threads reach
/// it only through posts to that worker's io_context.
class WorkerNet {
public:
    /// `tls` null: plain HTTP. Otherwise every connection speaks HTTPS with that context, which outlives
    /// this; so does `handler`.
    WorkerNet(runtime::Worker& worker, Handler& handler, metrics::WorkerMetrics& metrics,
              const Settings& settings, boost::asio::ssl::context* tls);

    runtime::Worker& worker() { return worker_; }

    /// Adopts a socket accepted for this worker from `peer` and starts its fiber. Worker thread.
    void adopt(Socket socket, const boost::asio::ip::address& peer);

    /// Starts the deadline timer. Worker thread.
    void start();
    /// Graceful stop: idle connections close now, busy ones after their response, streamed responses are
    /// cancelled. Worker thread.
    void stop();

private:
    /// What the wait between two requests came to.
    enum class Await { ready, park, close };

    void serve(Connection& c);
    bool handshake(Connection& c);
    /// The connection loop, once per stream type: plain TCP gets the socket itself, so HTTPS costs plain
    /// connections nothing.
    template <class Stream>
    void serve_on(Connection& c, Stream& stream);
    template <class Stream>
    Await await_request(Connection& c, const Wire<Stream>& wire, Stream& stream);
    void park(Connection& c);
    void close(Connection& c);

    using MemberList = boost::intrusive::list<Connection, boost::intrusive::base_hook<MemberHook>,
                                              boost::intrusive::constant_time_size<false>>;

    runtime::Worker& worker_;
    Handler& handler_;
    Settings settings_;
    boost::asio::ssl::context* tls_;
    DeadlineWheel deadlines_;
    MemberList connections_;
    bool stopping_ = false;
    WireContext wire_; // what every connection's Wire uses: the members above
};

} // namespace fleetscope::net
