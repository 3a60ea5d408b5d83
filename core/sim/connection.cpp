// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/sim/connection.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#if !defined(_WIN32)
#include <netinet/in.h> // IP_BIND_ADDRESS_NO_PORT, where the OS has it
#include <sys/socket.h>
#endif

namespace fleetscope::sim {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr auto kTok = asio::as_tuple(asio::use_awaitable);
constexpr auto kReconnectPause = std::chrono::milliseconds(100);

enum class ErrorKind { connect_refused, connect_timeout, connect_other, reset, closed, timeout, other };

ErrorKind classify(const error_code& ec, bool connecting)
{
    if (ec == beast::error::timeout)
        return connecting ? ErrorKind::connect_timeout : ErrorKind::timeout;
    if (connecting)
        return ec == asio::error::connection_refused ? ErrorKind::connect_refused : ErrorKind::connect_other;
    if (ec == asio::error::connection_reset || ec == asio::error::broken_pipe)
        return ErrorKind::reset;
    if (ec == asio::error::eof || ec == http::error::end_of_stream || ec == http::error::partial_message)
        return ErrorKind::closed;
    return ErrorKind::other;
}

} // namespace

Connection::Connection(Session& s, Worker& w, std::size_t index)
    : s_(s)
    , w_(w)
    , index_(index)
    , stream_(w.io.get_executor())
    , pause_(w.io.get_executor())
{}

void Connection::record_error(const error_code& ec, bool connecting, std::string_view what)
{
    switch (classify(ec, connecting)) {
    case ErrorKind::connect_refused:
        ++w_.errors.connect_refused;
        return;
    case ErrorKind::connect_timeout:
        ++w_.errors.connect_timeout;
        return;
    case ErrorKind::connect_other:
        ++w_.errors.connect_other;
        break;
    case ErrorKind::reset:
        ++w_.errors.reset;
        return;
    case ErrorKind::closed:
        ++w_.errors.closed;
        return;
    case ErrorKind::timeout:
        ++w_.errors.timeout;
        return;
    case ErrorKind::other:
        ++w_.errors.other;
        break;
    }
    // The unusual kinds keep their system message so the report can say what actually happened.
    ++w_.error_messages[std::string(what) + ": " + ec.message()];
}

asio::awaitable<bool> Connection::open(bool first)
{
    error_code ec = open_socket();
    if (!ec) {
        stream_.expires_after(s_.opt.connect_timeout);
        std::tie(ec) = co_await stream_.async_connect(s_.target, kTok);
    }
    if (!ec && s_.tls)
        ec = co_await handshake();
    if (ec) {
        record_error(ec, true, "connect");
        if (first) {
            if (ec == asio::error::connection_refused)
                w_.refused.fetch_add(1, std::memory_order_relaxed);
            else
                w_.failed.fetch_add(1, std::memory_order_relaxed);
        }
        stream_.close();
        co_return false;
    }
    stream_.socket().set_option(tcp::no_delay(true), ec);
    if (!s_.sources.empty())
        ++w_.source_connects[index_ % s_.sources.size()];
    if (first)
        w_.opened.fetch_add(1, std::memory_order_relaxed);
    else
        ++w_.reconnects;
    co_return true;
}

// A fresh TLS session on the just-connected stream, under the connect timeout.
asio::awaitable<error_code> Connection::handshake()
{
    tls_.emplace(stream_, *s_.tls);
    if (!s_.opt.ca_file.empty())
        tls_->set_verify_callback(asio::ssl::host_name_verification(s_.host));
    if (s_.sni)
        SSL_set_tlsext_host_name(tls_->native_handle(), s_.host.c_str());
    error_code ec;
    stream_.expires_after(s_.opt.connect_timeout);
    std::tie(ec) = co_await tls_->async_handshake(asio::ssl::stream_base::client, kTok);
    stream_.expires_never();
    co_return ec;
}

error_code Connection::open_socket()
{
    error_code ec;
    auto& sock = stream_.socket();
    sock.open(s_.target.protocol(), ec);
    if (ec || s_.sources.empty())
        return ec;
#ifdef IP_BIND_ADDRESS_NO_PORT
    // Defer the port choice to connect(), so a port is unique per 4-tuple rather than per source address:
    // without this, bind() would reserve the port against every destination. Best effort: without it the
    // bind still works, with fewer ports.
    const int on = 1;
    ::setsockopt(sock.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &on, sizeof on);
#endif
    sock.bind(tcp::endpoint(s_.sources[index_ % s_.sources.size()], 0), ec);
    if (ec)
        sock.close();
    return ec;
}

asio::awaitable<Connection::Outcome> Connection::exchange(Request& req)
{
    Outcome out;
    if (!is_open()) {
        pause_.expires_after(kReconnectPause);
        co_await pause_.async_wait(kTok);
        if (!co_await open(false)) {
            out.ec = asio::error::not_connected;
            co_return out;
        }
    }
    stream_.expires_after(s_.opt.request_timeout);
    if (tls_)
        std::tie(out.ec, std::ignore) = co_await http::async_write(*tls_, req, kTok);
    else
        std::tie(out.ec, std::ignore) = co_await http::async_write(stream_, req, kTok);
    if (!out.ec) {
        ++w_.sent;
        http::response<http::string_body> res;
        if (tls_)
            std::tie(out.ec, std::ignore) = co_await http::async_read(*tls_, buffer_, res, kTok);
        else
            std::tie(out.ec, std::ignore) = co_await http::async_read(stream_, buffer_, res, kTok);
        if (!out.ec) {
            out.status = static_cast<int>(res.result_int());
            out.keep_alive = res.keep_alive();
        }
    }
    stream_.expires_never();
    if (out.ec)
        record_error(out.ec, false, "request");
    else
        ++w_.status[out.status];
    if (out.ec || !out.keep_alive)
        close();
    co_return out;
}

void Connection::close()
{
    error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
    buffer_.clear();
}

} // namespace fleetscope::sim
