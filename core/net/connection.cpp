// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/net/connection.hpp"

#include "core/net/wire.hpp"
#include "core/runtime/worker.hpp"
#include "core/runtime/yield.hpp"

#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace fleetscope::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
using boost::system::error_code;

/// A connection's TLS state. Beast's ssl_stream rather than Asio's: it coalesces a response's buffers into
/// one TLS record and one send, where Asio's stream writes one record per buffer.
struct TlsSession {
    TlsSession(Socket& socket, asio::ssl::context& ctx)
        : stream(socket, ctx)
    {}
    beast::ssl_stream<Socket&> stream;
    bool handshaken = false;
};

Connection::Connection(Socket s)
    : socket(std::move(s))
{}

Connection::~Connection() = default;

namespace {

/// Whether bytes of the peer's are held above the socket, where a readiness wait cannot see them. Plain TCP
/// holds none; the Wire's buffer is checked by the caller.
bool holds_input(Socket&)
{
    return false;
}

/// OpenSSL may hold a decrypted record (or the rest of one) and undecrypted bytes in its network BIO: a
/// connection with any of them must read on, never wait for readability or park. Asio's engine hands every
/// byte it reads from the socket to that BIO before OpenSSL asks for more, so these are all the places.
bool holds_input(beast::ssl_stream<Socket&>& stream)
{
    SSL* ssl = stream.native_handle();
    return SSL_has_pending(ssl) == 1 || BIO_ctrl_pending(SSL_get_rbio(ssl)) > 0;
}

/// OpenSSL's verdict on a handshake that began with a plain HTTP request line.
bool is_plain_http(const error_code& ec)
{
    return ec.category() == asio::error::get_ssl_category() &&
           ERR_GET_REASON(ec.value()) == SSL_R_HTTP_REQUEST;
}

/// A deadline passed: cancelling makes the connection's pending read, wait or write complete with
/// operation_aborted, and whoever waits sees the deadline's `expired`.
void expire(Deadline& d)
{
    static_cast<Connection&>(d).socket.cancel();
}

} // namespace

WorkerNet::WorkerNet(runtime::Worker& worker, Handler& handler, metrics::WorkerMetrics& metrics,
                     const Settings& settings, asio::ssl::context* tls)
    : worker_(worker)
    , handler_(handler)
    , settings_(settings)
    , tls_(tls)
    , deadlines_(worker.io(), settings_, &expire)
    , wire_{deadlines_, settings_, metrics, stopping_}
{}

void WorkerNet::start()
{
    deadlines_.start();
}

void WorkerNet::adopt(Socket socket, const asio::ip::address& peer)
{
    auto* c = new Connection(std::move(socket));
    connections_.push_back(*c);
    if (stopping_) {
        close(*c);
        return;
    }
    c->session.secure = tls_ != nullptr;
    handler_.on_open(c->session, peer);
    if (tls_)
        c->tls = std::make_unique<TlsSession>(c->socket, *tls_);
    worker_.spawn([this, c] { serve(*c); });
}

void WorkerNet::stop()
{
    stopping_ = true;
    for (auto& c : connections_) {
        if (!c.busy)
            c.socket.cancel();
        else if (c.streaming)
            c.streaming->cancel();
    }
    if (connections_.empty())
        deadlines_.stop();
}

void WorkerNet::close(Connection& c)
{
    error_code ignored;
    c.socket.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    c.socket.close(ignored);
    if (c.parked)
        worker_.counters().parked.fetch_sub(1, std::memory_order_relaxed);
    handler_.on_close(c.session);
    worker_.counters().connections.fetch_sub(1, std::memory_order_relaxed);
    delete &c; // unlinks both hooks
    if (stopping_ && connections_.empty())
        deadlines_.stop();
}

void WorkerNet::park(Connection& c)
{
    // Give the fiber and its stack back; keep only the socket and a readiness wait that starts a fresh fiber
    // when bytes arrive. The idle deadline still applies; it spans a callback rather than a scope, so it is
    // armed and disarmed by hand.
    c.parked = true;
    worker_.counters().parked.fetch_add(1, std::memory_order_relaxed);
    deadlines_.arm(c, Phase::idle);
    c.socket.async_wait(asio::ip::tcp::socket::wait_read, [this, &c](error_code ec) {
        deadlines_.disarm(c);
        c.parked = false;
        worker_.counters().parked.fetch_sub(1, std::memory_order_relaxed);
        if (ec || stopping_) {
            close(c);
            return;
        }
        worker_.spawn([this, &c] { serve(c); });
    });
}

bool WorkerNet::handshake(Connection& c)
{
    error_code ec;
    {
        // Under the header timeout: a client that connects and never finishes its handshake is a slowloris
        // too.
        DeadlineScope deadline(deadlines_, c, Phase::header);
        c.tls->stream.async_handshake(asio::ssl::stream_base::server, runtime::yield[ec]);
    }
    if (!ec) {
        c.tls->handshaken = true;
        return true;
    }
    if (is_plain_http(ec) && !stopping_) {
        // A plain HTTP request on the HTTPS port: say so in plain HTTP, which the client can read, then
        // close.
        const Request none;
        Reply reply(error_response(bhttp::status::bad_request,
                                   "this port speaks HTTPS (tls-cert is set): connect with TLS", none));
        reply.response.keep_alive(false);
        Wire<Socket> plain(c.socket, c, wire_, false);
        plain.respond(none, reply);
    }
    return false;
}

void WorkerNet::serve(Connection& c)
{
    if (!c.tls)
        return serve_on(c, c.socket);
    if (!c.tls->handshaken && !handshake(c))
        return close(c);
    serve_on(c, c.tls->stream);
}

template <class Stream>
void WorkerNet::serve_on(Connection& c, Stream& stream)
{
    Wire<Stream> wire(stream, c, wire_, c.session.secure);
    for (;;) {
        switch (await_request(c, wire, stream)) {
        case Await::park:
            return park(c);
        case Await::close:
            return close(c);
        case Await::ready:
            break;
        }
        if (!serve_request(wire, handler_, c.session).again)
            return close(c);
    }
}

template <class Stream>
WorkerNet::Await WorkerNet::await_request(Connection& c, const Wire<Stream>& wire, Stream& stream)
{
    if (stopping_)
        return Await::close;
    if (wire.buffered() != 0 || holds_input(stream))
        return Await::ready; // a pipelined request, or one TLS already holds
    // Idle between requests: wait for readability without reading, so nothing is buffered while nothing
    // arrives. After park-after of quiet, the fiber ends and the connection parks.
    const bool may_park = settings_.park_after < settings_.idle_timeout;
    DeadlineScope deadline(deadlines_, c, may_park ? Phase::park : Phase::idle);
    error_code ec;
    c.socket.async_wait(asio::ip::tcp::socket::wait_read, runtime::yield[ec]);
    if (!ec)
        return Await::ready;
    return may_park && deadline.passed() && !stopping_ ? Await::park : Await::close;
}

} // namespace fleetscope::net
