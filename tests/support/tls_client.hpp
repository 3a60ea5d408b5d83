// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// An HTTPS client for the integration tests, on Asio's ssl::stream: the peer the gateway's TLS must serve,
// with a deadline on every wait, as HttpClient has.

#include "integration/http_client.hpp"

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace fleetscope::testing {

namespace ssl = boost::asio::ssl;

/// An HTTPS client connection that verifies the gateway's certificate against `ca_file`. Each instance owns
/// its io_context, and every wait has a deadline, as HttpClient's. One thread uses it.
class TlsClient {
public:
    explicit TlsClient(const std::string& ca_file)
    {
        ctx_.load_verify_file(ca_file);
        ctx_.set_verify_mode(ssl::verify_peer);
        ctx_.set_verify_callback(ssl::host_name_verification("localhost"));
        stream_ = std::make_unique<ssl::stream<asio::ip::tcp::socket>>(io_, ctx_);
    }

    /// TCP connect and TLS handshake. `receive_buffer` (bytes), when set, bounds what the kernel takes in for
    /// the client before it reads, so that the gateway's writes block on a client that does not read.
    bool connect(std::uint16_t port, int receive_buffer = 0)
    {
        const asio::ip::tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), port);
        if (receive_buffer > 0) {
            auto& socket = stream_->next_layer();
            socket.open(ep.protocol(), error_);
            if (!error_)
                socket.set_option(asio::socket_base::receive_buffer_size(receive_buffer), error_);
            if (error_)
                return false;
        }
        error_ = run([&](auto done) {
            stream_->lowest_layer().async_connect(ep, [done](error_code ec) mutable { done(ec); });
        });
        if (error_)
            return false;
        error_ = run([&](auto done) {
            stream_->async_handshake(ssl::stream_base::client, [done](error_code ec) mutable { done(ec); });
        });
        return !error_;
    }

    bool send(std::string_view bytes)
    {
        error_ = run([&](auto done) {
            asio::async_write(*stream_, asio::buffer(bytes.data(), bytes.size()),
                              [done](error_code ec, std::size_t) mutable { done(ec); });
        });
        return !error_;
    }

    std::optional<Response> read(milliseconds timeout = kWait)
    {
        bhttp::response_parser<bhttp::string_body> parser;
        error_ = run(
            [&](auto done) {
                bhttp::async_read(*stream_, buffer_, parser,
                                  [done](error_code ec, std::size_t) mutable { done(ec); });
            },
            timeout);
        if (error_)
            return std::nullopt;
        return parser.release();
    }

    std::optional<Response> request(std::string_view raw)
    {
        if (!send(raw))
            return std::nullopt;
        return read();
    }

    /// True when the server ends the connection (TLS or TCP) within the timeout without sending a response.
    bool wait_closed(milliseconds timeout)
    {
        char byte = 0;
        std::size_t got = 0;
        error_ = run(
            [&](auto done) {
                stream_->async_read_some(asio::buffer(&byte, 1),
                                         [done, &got](error_code ec, std::size_t n) mutable {
                                             got = n;
                                             done(ec);
                                         });
            },
            timeout);
        return got == 0 && error_ && error_ != asio::error::timed_out;
    }

    asio::ip::tcp::socket& socket() { return stream_->next_layer(); }
    const error_code& error() const { return error_; }

private:
    template <class Start>
    error_code run(Start start, milliseconds timeout = kWait)
    {
        return run_with_deadline(
            io_, start,
            [this] {
                error_code ignored;
                stream_->lowest_layer().cancel(ignored);
            },
            timeout);
    }

    asio::io_context io_{1};
    ssl::context ctx_{ssl::context::tls_client};
    std::unique_ptr<ssl::stream<asio::ip::tcp::socket>> stream_;
    boost::beast::flat_buffer buffer_;
    error_code error_;
};

} // namespace fleetscope::testing
