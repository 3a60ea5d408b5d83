// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/net/connection.hpp"

#include "core/auth/operator_access.hpp"
#include "core/metrics/registry.hpp"
#include "core/net/request_parser.hpp"
#include "core/runtime/worker.hpp"
#include "core/runtime/yield.hpp"

#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/read_size.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <algorithm>
#include <array>
#include <memory_resource>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <string_view>

namespace fleetscope::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
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

Connection::Connection(Socket s, WorkerNet& owner)
    : socket(std::move(s))
    , net(&owner)
{}

Connection::~Connection() = default;

namespace {
/// Appended to Beast's name for a parse error, so the client learns the expected form too.
constexpr std::string_view kHttpForm =
    "; expected HTTP/1.1 as RFC 9112 defines it (CRLF line endings, one Content-Length of decimal digits or "
    "Transfer-Encoding: chunked)";

/// A Beast parser error: the peer sent something that is not valid HTTP/1.1.
bool is_parse_error(const error_code& ec)
{
    return ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category();
}

/// Whether the connection's deadline has passed, with `ec` set as a cancelled operation's when it has. The
/// read and write loops below check it before every single read or write.
bool deadline_passed(const Connection& c, error_code& ec)
{
    if (c.expired == Phase::none)
        return false;
    ec = asio::error::operation_aborted;
    return true;
}

/// Reads a request header of at most `limit` bytes into `parser`. Beast 1.81's parser applies header_limit
/// only to the bytes not yet parsed in one put() while it consumes complete fields as they arrive, and
/// http::async_read_some keeps putting until the header is done, so a header arriving in pieces could
/// exceed the limit by what the first reads parsed: up to about twice the limit once the connection's read
/// buffer has grown (later Beast subtracts what it parsed). This drives the same put() loop and does that
/// subtraction, so max-header-bytes bounds the whole request line and fields however the bytes arrive.
///
/// Both readers loop over single reads and check the connection's deadline before each one: a deadline that
/// passes while a read's completion is queued cancels nothing, and a composed Beast read would then go on
/// without any deadline, for as long as a slow client keeps sending.
template <class Stream, class Parser>
void read_header(Connection& c, Stream& stream, beast::flat_buffer& buffer, Parser& parser, std::size_t limit,
                 error_code& ec)
{
    std::size_t used = 0;
    for (;;) {
        if (deadline_passed(c, ec))
            return;
        if (buffer.size() != 0) {
            parser.header_limit(static_cast<std::uint32_t>(limit - used));
            const std::size_t n = parser.put(buffer.data(), ec);
            buffer.consume(n);
            used += n;
            if (parser.is_header_done() || ec != bhttp::error::need_more)
                return;
            if (used >= limit) {
                ec = bhttp::error::header_limit;
                return;
            }
        }
        ec = {};
        const std::size_t got =
            stream.async_read_some(buffer.prepare(beast::read_size(buffer, 65536)), runtime::yield[ec]);
        buffer.commit(got);
        if (ec == asio::error::eof) {
            ec = parser.got_some() ? bhttp::error::partial_message : bhttp::error::end_of_stream;
            return;
        }
        if (ec)
            return;
    }
}

/// Reads the rest of a request's body into `parser`, as http::async_read does.
template <class Stream, class Parser>
void read_body(Connection& c, Stream& stream, beast::flat_buffer& buffer, Parser& parser, error_code& ec)
{
    parser.eager(true);
    while (!parser.is_done()) {
        if (deadline_passed(c, ec))
            return;
        bhttp::async_read_some(stream, buffer, parser, runtime::yield[ec]);
        if (ec)
            return;
    }
}

/// Writes all of `res`. Like the readers, it loops over single writes and checks the connection's deadline
/// before each one: a composed http::async_write would carry on without a deadline once one passed while a
/// write's completion was queued, for as long as a slow reader keeps taking bytes.
template <class Stream>
void write_response(Connection& c, Stream& stream, http::Response& res, error_code& ec)
{
    bhttp::response_serializer<http::Body, http::Fields> serializer(res);
    while (!serializer.is_done()) {
        if (deadline_passed(c, ec))
            return;
        bhttp::async_write_some(stream, serializer, runtime::yield[ec]);
        if (ec)
            return;
    }
}

/// Writes all of `bytes`, checking the connection's deadline before each write, as write_response does.
template <class Stream>
void write_bytes(Connection& c, Stream& stream, std::string_view bytes, error_code& ec)
{
    while (!bytes.empty()) {
        if (deadline_passed(c, ec))
            return;
        const std::size_t n = stream.async_write_some(asio::buffer(bytes), runtime::yield[ec]);
        if (ec)
            return;
        bytes.remove_prefix(n);
    }
}

/// Whether bytes of the peer's are held above the socket, where a readiness wait cannot see them. Plain TCP
/// holds none; Beast's buffer is checked by the caller.
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
} // namespace

WorkerNet::WorkerNet(runtime::Worker& worker, http::Api& api, metrics::WorkerMetrics& metrics,
                     const Settings& settings, asio::ssl::context* tls)
    : worker_(worker)
    , api_(api)
    , metrics_(metrics)
    , settings_(settings)
    , tls_(tls)
    , ticker_(worker.io())
{
    // Resolution of the deadline timer: a quarter of the shortest timeout, between 5 ms and 100 ms.
    const Millis shortest = std::min({settings.park_after, settings.header_timeout, settings.body_timeout,
                                      settings.idle_timeout, settings.write_timeout});
    tick_ = std::clamp<Clock::duration>(shortest / 4, Millis(5), Millis(100));
}

void WorkerNet::start()
{
    tick();
}

void WorkerNet::adopt(Socket socket)
{
    auto* c = new Connection(std::move(socket), *this);
    connections_.push_back(*c);
    if (stopping_) {
        close(*c);
        return;
    }
    if (tls_)
        c->tls = std::make_unique<TlsSession>(c->socket, *tls_);
    if (auth::access_control_enabled(settings_)) {
        // With access control on, remote peers need an operator token for fleet reads
        // (Api::require_operator); one getpeername per connection, and none when it is off.
        error_code ec;
        const auto peer = c->socket.remote_endpoint(ec);
        c->state.loopback = !ec && auth::is_loopback_peer(peer.address());
    }
    worker_.spawn([this, c] { serve(*c); });
}

void WorkerNet::stop()
{
    stopping_ = true;
    for (auto& c : connections_)
        if (!c.busy)
            c.socket.cancel();
    if (connections_.empty())
        ticker_.cancel();
}

void WorkerNet::arm(Connection& c, Phase phase, Clock::duration timeout)
{
    c.DeadlineHook::unlink();
    c.deadline = Clock::now() + timeout;
    c.armed = phase;
    c.expired = Phase::none;
    deadlines_[static_cast<std::size_t>(phase)].push_back(c);
}

void WorkerNet::disarm(Connection& c)
{
    c.DeadlineHook::unlink();
    c.armed = Phase::none;
}

void WorkerNet::tick()
{
    const auto now = Clock::now();
    for (auto& list : deadlines_) {
        while (!list.empty() && list.front().deadline <= now) {
            Connection& c = list.front();
            list.pop_front();
            c.expired = c.armed;
            c.armed = Phase::none;
            // Cancelling makes the pending read, wait or write complete with operation_aborted; whoever waits
            // sees `expired` and acts on it.
            c.socket.cancel();
        }
    }
    if (stopping_ && connections_.empty())
        return;
    ticker_.expires_after(tick_);
    ticker_.async_wait([this](error_code ec) {
        if (!ec)
            tick();
    });
}

void WorkerNet::close(Connection& c)
{
    error_code ignored;
    c.socket.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    c.socket.close(ignored);
    if (c.parked)
        worker_.counters().parked.fetch_sub(1, std::memory_order_relaxed);
    if (!c.state.device.empty())
        api_.on_close(c.state);
    worker_.counters().connections.fetch_sub(1, std::memory_order_relaxed);
    delete &c; // unlinks both hooks
    if (stopping_ && connections_.empty())
        ticker_.cancel();
}

void WorkerNet::park(Connection& c)
{
    // Give the fiber and its stack back; keep only the socket and a readiness wait that starts a fresh fiber
    // when bytes arrive. The idle deadline still applies.
    c.parked = true;
    worker_.counters().parked.fetch_add(1, std::memory_order_relaxed);
    arm(c, Phase::idle, settings_.idle_timeout - settings_.park_after);
    c.socket.async_wait(asio::ip::tcp::socket::wait_read, [this, &c](error_code ec) {
        disarm(c);
        c.parked = false;
        worker_.counters().parked.fetch_sub(1, std::memory_order_relaxed);
        if (ec || stopping_) {
            close(c);
            return;
        }
        worker_.spawn([this, &c] { serve(c); });
    });
}

template <class Stream>
bool WorkerNet::write(Connection& c, Stream& stream, http::Response& res)
{
    if (stopping_)
        res.keep_alive(false);
    metrics_.count_response(static_cast<unsigned>(res.result_int()));
    arm(c, Phase::write, settings_.write_timeout);
    error_code ec;
    write_response(c, stream, res, ec);
    disarm(c);
    return !ec && res.keep_alive();
}

bool WorkerNet::handshake(Connection& c)
{
    // Under the header timeout: a client that connects and never finishes its handshake is a slowloris too.
    arm(c, Phase::header, settings_.header_timeout);
    error_code ec;
    c.tls->stream.async_handshake(asio::ssl::stream_base::server, runtime::yield[ec]);
    disarm(c);
    if (!ec) {
        c.tls->handshaken = true;
        return true;
    }
    if (is_plain_http(ec) && !stopping_) {
        // A plain HTTP request on the HTTPS port: say so in plain HTTP, which the client can read, then
        // close.
        http::Request none;
        http::Response res = api_.error(bhttp::status::bad_request,
                                        "this port speaks HTTPS (tls-cert is set): connect with TLS", none);
        res.keep_alive(false);
        write(c, c.socket, res);
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
    beast::flat_buffer buffer; // lives only while the fiber does: a parked connection holds no buffer
    std::array<std::byte, 3072> arena_buffer;
    error_code ec;
    for (;;) {
        if (stopping_)
            return close(c);

        if (buffer.size() == 0 && !holds_input(stream)) {
            // Idle between requests: wait for readability without reading, so nothing is buffered while
            // nothing arrives. After park-after of quiet, the fiber ends and the connection parks.
            const bool may_park = settings_.park_after < settings_.idle_timeout;
            arm(c, may_park ? Phase::park : Phase::idle,
                may_park ? settings_.park_after : settings_.idle_timeout);
            c.socket.async_wait(asio::ip::tcp::socket::wait_read, runtime::yield[ec]);
            const Phase expired = c.expired;
            disarm(c);
            if (ec) {
                if (expired == Phase::park && !stopping_)
                    return park(c);
                return close(c);
            }
        }

        // The header deadline runs from the first byte: a slowloris client is cut off after header-timeout.
        arm(c, Phase::header, settings_.header_timeout);
        // Everything one request allocates comes from this arena, released when the request is answered.
        std::pmr::monotonic_buffer_resource arena(arena_buffer.data(), arena_buffer.size());
        const http::Allocator alloc(&arena);
        RequestParser parser(std::piecewise_construct, std::make_tuple(alloc), std::make_tuple(alloc));
        limit_header(parser, settings_);
        read_header(c, stream, buffer, parser, settings_.max_header_bytes, ec);
        if (ec) {
            const Phase expired = c.expired;
            disarm(c);
            if (ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
                ec == asio::error::connection_reset ||
                (ec == asio::error::operation_aborted && expired == Phase::none))
                return close(c);
            c.busy = true;
            http::Response res;
            http::Request none;
            if (expired == Phase::header)
                res = api_.error(bhttp::status::request_timeout,
                                 "request header not complete within header-timeout (" +
                                     std::to_string(settings_.header_timeout.count()) + " ms)",
                                 none);
            else if (ec == bhttp::error::header_limit)
                res = api_.error(bhttp::status::request_header_fields_too_large,
                                 "request line and header fields exceed max-header-bytes (" +
                                     std::to_string(settings_.max_header_bytes) + " bytes)",
                                 none);
            else if (is_parse_error(ec))
                res = api_.error(bhttp::status::bad_request,
                                 "malformed HTTP request: " + ec.message() + std::string(kHttpForm), none);
            else
                return close(c);
            res.keep_alive(false);
            write(c, stream, res);
            return close(c);
        }

        c.busy = true;
        metrics_.requests.add();
        const auto received = Clock::now();
        if (auto refusal = api_.check_header(parser.get())) {
            // The body was not read, so the connection cannot be reused.
            disarm(c);
            refusal->keep_alive(false);
            write(c, stream, *refusal);
            return close(c);
        }
        if (!parser.is_done()) {
            // Beast 1.81 compares body_limit with Content-Length only while parsing the header, when no limit
            // was set yet, so the announced length is checked here, for every route: a GET, or a length
            // written as a list ("5000000, 5000000"), must not get its body buffered either.
            if (const auto length = parser.content_length(); length && *length > settings_.max_body_bytes) {
                disarm(c);
                http::Response res =
                    api_.error(bhttp::status::payload_too_large,
                               "body of " + std::to_string(*length) + " bytes is too large: at most " +
                                   std::to_string(settings_.max_body_bytes) + " bytes (max-body-bytes)",
                               parser.get());
                res.keep_alive(false);
                write(c, stream, res);
                return close(c);
            }
            limit_body(parser, settings_); // bounds chunked bodies as they arrive
            if (beast::iequals(parser.get()[bhttp::field::expect], "100-continue")) {
                // curl and many HTTP libraries hold a larger body back until told to go on.
                static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
                arm(c, Phase::write, settings_.write_timeout);
                write_bytes(c, stream, kContinue, ec);
                disarm(c);
                if (ec)
                    return close(c);
            }
            arm(c, Phase::body, settings_.body_timeout);
            read_body(c, stream, buffer, parser, ec);
            const Phase expired = c.expired;
            disarm(c);
            if (ec) {
                http::Response res;
                if (expired == Phase::body)
                    res = api_.error(bhttp::status::request_timeout,
                                     "request body not complete within body-timeout (" +
                                         std::to_string(settings_.body_timeout.count()) + " ms)",
                                     parser.get());
                else if (ec == bhttp::error::body_limit)
                    res = api_.error(bhttp::status::payload_too_large,
                                     "body exceeds max-body-bytes (" +
                                         std::to_string(settings_.max_body_bytes) + " bytes)",
                                     parser.get());
                else if (is_parse_error(ec))
                    res = api_.error(bhttp::status::bad_request,
                                     "malformed HTTP request body: " + ec.message() + std::string(kHttpForm),
                                     parser.get());
                else
                    return close(c);
                res.keep_alive(false);
                write(c, stream, res);
                return close(c);
            }
        } else {
            disarm(c);
        }

        http::Request request = parser.release();
        http::Response res = api_.handle(request, c.state);
        const bool acked = res.result() == bhttp::status::no_content;
        const bool keep = write(c, stream, res);
        if (acked)
            metrics_.ack_latency.record(Clock::now() - received);
        c.busy = false;
        if (!keep)
            return close(c);
    }
}

} // namespace fleetscope::net
