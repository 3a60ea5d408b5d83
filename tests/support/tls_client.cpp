// SPDX-License-Identifier: GPL-3.0-or-later
#include "support/tls_client.hpp"

#include "support/deadline.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>

namespace fleetscope::testing {

namespace ssl = boost::asio::ssl;

struct TlsClient::Connection {
    explicit Connection(const std::string& ca_file)
    {
        ctx.load_verify_file(ca_file);
        ctx.set_verify_mode(ssl::verify_peer);
        ctx.set_verify_callback(ssl::host_name_verification("localhost"));
        stream = std::make_unique<ssl::stream<asio::ip::tcp::socket>>(io, ctx);
    }

    template <class Start>
    error_code run(Start start, milliseconds timeout = kWait)
    {
        return detail::run_with_deadline(
            io, start,
            [this] {
                error_code ignored;
                stream->lowest_layer().cancel(ignored);
            },
            timeout);
    }

    asio::io_context io{1};
    ssl::context ctx{ssl::context::tls_client};
    std::unique_ptr<ssl::stream<asio::ip::tcp::socket>> stream;
    boost::beast::flat_buffer buffer;
};

TlsClient::TlsClient(const std::string& ca_file)
    : c_(std::make_unique<Connection>(ca_file))
{}
TlsClient::~TlsClient() = default;

bool TlsClient::connect(std::uint16_t port, int receive_buffer)
{
    const asio::ip::tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), port);
    auto& stream = *c_->stream;
    if (receive_buffer > 0) {
        auto& socket = stream.next_layer();
        socket.open(ep.protocol(), error_);
        if (!error_)
            socket.set_option(asio::socket_base::receive_buffer_size(receive_buffer), error_);
        if (error_)
            return false;
    }
    error_ = c_->run([&](auto done) {
        stream.lowest_layer().async_connect(ep, [done](error_code ec) mutable { done(ec); });
    });
    if (error_)
        return false;
    error_ = c_->run([&](auto done) {
        stream.async_handshake(ssl::stream_base::client, [done](error_code ec) mutable { done(ec); });
    });
    return !error_;
}

bool TlsClient::send(std::string_view bytes)
{
    error_ = c_->run([&](auto done) {
        asio::async_write(*c_->stream, asio::buffer(bytes.data(), bytes.size()),
                          [done](error_code ec, std::size_t) mutable { done(ec); });
    });
    return !error_;
}

std::optional<Response> TlsClient::read(milliseconds timeout)
{
    bhttp::response_parser<bhttp::string_body> parser;
    error_ = c_->run(
        [&](auto done) {
            bhttp::async_read(*c_->stream, c_->buffer, parser,
                              [done](error_code ec, std::size_t) mutable { done(ec); });
        },
        timeout);
    if (error_)
        return std::nullopt;
    return parser.release();
}

std::optional<Response> TlsClient::request(std::string_view raw)
{
    if (!send(raw))
        return std::nullopt;
    return read();
}

bool TlsClient::wait_closed(milliseconds timeout)
{
    char byte = 0;
    std::size_t got = 0;
    error_ = c_->run(
        [&](auto done) {
            c_->stream->async_read_some(asio::buffer(&byte, 1),
                                        [done, &got](error_code ec, std::size_t n) mutable {
                                            got = n;
                                            done(ec);
                                        });
        },
        timeout);
    return got == 0 && error_ && error_ != asio::error::timed_out;
}

int TlsClient::native_handle()
{
    return c_->stream->next_layer().native_handle();
}

} // namespace fleetscope::testing
