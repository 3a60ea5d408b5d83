// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "core/http/api.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/intrusive/list.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>

namespace boost::asio::ssl {
class context;
}
namespace fleetscope::runtime {
class Worker;
}
namespace fleetscope::metrics {
struct WorkerMetrics;
}

namespace fleetscope::net {

using Clock = std::chrono::steady_clock;
/// A socket bound to its worker's io_context executor type: no type-erased executor on the hot path.
using Socket = boost::asio::basic_stream_socket<boost::asio::ip::tcp, boost::asio::io_context::executor_type>;

/// What a connection is waiting for; each phase has its own timeout setting.
enum class Phase : std::uint8_t { none, park, idle, header, body, write };

using DeadlineHook =
    boost::intrusive::list_base_hook<boost::intrusive::tag<struct DeadlineTag>,
                                     boost::intrusive::link_mode<boost::intrusive::auto_unlink>>;
using MemberHook =
    boost::intrusive::list_base_hook<boost::intrusive::tag<struct MemberTag>,
                                     boost::intrusive::link_mode<boost::intrusive::auto_unlink>>;

class WorkerNet;
struct TlsSession;

/// One accepted socket and what must outlive its fiber: with a parked (fiber-less) idle connection, this is
/// all the connection costs in user space. Owned by its WorkerNet and touched only on that worker's thread.
struct Connection : DeadlineHook, MemberHook {
    Connection(Socket s, WorkerNet& owner);
    ~Connection();

    Socket socket;
    WorkerNet* net;
    std::unique_ptr<TlsSession> tls; // HTTPS: the TLS state over `socket`, which must outlive any fiber
    Clock::time_point deadline{};
    Phase armed = Phase::none;   // the deadline currently set
    Phase expired = Phase::none; // set when that deadline passed and the socket was cancelled
    bool busy = false;           // a request is being handled: a graceful stop lets it finish
    bool parked = false;
    http::ConnectionState state;
};

/// The per-worker half of the server: the worker's connections, their deadlines, and the connection fibers.
/// Deadlines are kept in one FIFO list per phase: every connection in a list has the same timeout, so arming
/// appends in expiry order, and one coarse timer per worker expires the heads. That costs two pointers per
/// connection instead of a timer each. Lives on its worker's thread; other threads reach it only through
/// posts to that worker's io_context.
class WorkerNet {
public:
    /// `tls` null: plain HTTP. Otherwise every connection speaks HTTPS with that context, which outlives
    /// this.
    WorkerNet(runtime::Worker& worker, http::Api& api, metrics::WorkerMetrics& metrics,
              const Settings& settings, boost::asio::ssl::context* tls);

    runtime::Worker& worker() { return worker_; }

    /// Adopts a socket accepted for this worker and starts its fiber. Worker thread.
    void adopt(Socket socket);

    /// Starts the deadline timer. Worker thread.
    void start();
    /// Graceful stop: idle connections close now, busy ones after their response. Worker thread.
    void stop();

private:
    void serve(Connection& c);
    bool handshake(Connection& c);
    /// The connection loop, once per stream type: plain TCP gets the socket itself, so HTTPS costs plain
    /// connections nothing.
    template <class Stream>
    void serve_on(Connection& c, Stream& stream);
    void park(Connection& c);
    void close(Connection& c);
    template <class Stream>
    bool write(Connection& c, Stream& stream, http::Response& res);

    void arm(Connection& c, Phase phase, Clock::duration timeout);
    void disarm(Connection& c);
    void tick();

    using DeadlineList = boost::intrusive::list<Connection, boost::intrusive::base_hook<DeadlineHook>,
                                                boost::intrusive::constant_time_size<false>>;
    using MemberList = boost::intrusive::list<Connection, boost::intrusive::base_hook<MemberHook>,
                                              boost::intrusive::constant_time_size<false>>;

    runtime::Worker& worker_;
    http::Api& api_;
    metrics::WorkerMetrics& metrics_;
    Settings settings_;
    boost::asio::ssl::context* tls_;
    std::array<DeadlineList, 6> deadlines_; // indexed by Phase
    MemberList connections_;
    boost::asio::steady_timer ticker_;
    Clock::duration tick_;
    bool stopping_ = false;
};

} // namespace fleetscope::net
