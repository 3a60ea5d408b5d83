// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// Internal to core/sim.
#include "core/sim/session.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <optional>

namespace fleetscope::sim {

/// One device's connection to the gateway: a socket bound to the device's loopback source address, TLS when
/// the run asks for it, and one request/response exchange at a time. Failures are counted in the worker by
/// kind, never thrown. Lives in its device's coroutine frame, on its worker's thread.
class Connection {
public:
    using Request = boost::beast::http::request<boost::beast::http::string_body>;

    struct Outcome {
        boost::system::error_code ec;
        int status = 0;
        bool keep_alive = true;
        bool ok() const { return !ec && status >= 200 && status < 300; }
    };

    Connection(Session& s, Worker& w, std::size_t index);

    /// Connects (and shakes hands) under the connect timeout. `first` marks the ramp's connect, counted apart
    /// from reconnects.
    boost::asio::awaitable<bool> open(bool first);

    /// Writes `req` and reads its response under the request timeout. A connection an earlier error closed is
    /// re-opened first, after a pause so that a refusing gateway is not hammered; when that fails, `ec` is
    /// not_connected (counted as a connect error, not a request error). After an error, or an answer that
    /// ends keep-alive, the connection is closed.
    boost::asio::awaitable<Outcome> exchange(Request& req);

    bool is_open() const { return stream_.socket().is_open(); }
    void close();

private:
    using Stream =
        boost::beast::basic_stream<boost::asio::ip::tcp, Executor, boost::beast::unlimited_rate_policy>;

    boost::system::error_code open_socket();
    boost::asio::awaitable<boost::system::error_code> handshake();
    void record_error(const boost::system::error_code& ec, bool connecting, std::string_view what);

    Session& s_;
    Worker& w_;
    std::size_t index_;
    Stream stream_;
    std::optional<boost::beast::ssl_stream<Stream&>> tls_; // HTTPS: the session of the current connection
    boost::beast::flat_buffer buffer_;
    Timer pause_;
};

} // namespace fleetscope::sim
