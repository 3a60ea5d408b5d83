// SPDX-License-Identifier: GPL-3.0-or-later
#include "support/http_client.hpp"

#include "support/deadline.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

namespace fleetscope::testing {

struct HttpClient::Connection {
    asio::io_context io{1};
    asio::ip::tcp::socket socket{io};
    boost::beast::flat_buffer buffer;

    template <class Start>
    error_code run(Start start, milliseconds timeout)
    {
        return detail::run_with_deadline(
            io, start,
            [this] {
                error_code ignored;
                socket.cancel(ignored);
            },
            timeout);
    }
};

HttpClient::HttpClient()
    : c_(std::make_unique<Connection>())
{}
HttpClient::~HttpClient() = default;

bool HttpClient::connect(std::uint16_t port, milliseconds timeout)
{
    return connect("127.0.0.1", port, {}, timeout);
}

bool HttpClient::connect(const std::string& host, std::uint16_t port, const std::string& source,
                         milliseconds timeout)
{
    close();
    const asio::ip::tcp::endpoint ep(asio::ip::make_address(host), port);
    if (!source.empty()) {
        c_->socket.open(ep.protocol(), error_);
        if (!error_)
            c_->socket.bind(asio::ip::tcp::endpoint(asio::ip::make_address(source), 0), error_);
        if (error_)
            return false;
    }
    error_ =
        c_->run([&](auto done) { c_->socket.async_connect(ep, [done](error_code ec) mutable { done(ec); }); },
                timeout);
    return !error_;
}

bool HttpClient::send(std::string_view bytes, milliseconds timeout)
{
    error_ = c_->run(
        [&](auto done) {
            asio::async_write(c_->socket, asio::buffer(bytes.data(), bytes.size()),
                              [done](error_code ec, std::size_t) mutable { done(ec); });
        },
        timeout);
    return !error_;
}

std::optional<Response> HttpClient::read(milliseconds timeout, bool head)
{
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    parser.skip(head);
    error_ = c_->run(
        [&](auto done) {
            bhttp::async_read(c_->socket, c_->buffer, parser,
                              [done](error_code ec, std::size_t) mutable { done(ec); });
        },
        timeout);
    if (error_)
        return std::nullopt;
    return parser.release();
}

std::optional<Response> HttpClient::request(std::string_view raw, milliseconds timeout)
{
    if (!send(raw, timeout))
        return std::nullopt;
    return read(timeout);
}

bool HttpClient::wait_closed(milliseconds timeout)
{
    if (c_->buffer.size() != 0)
        return false;
    char byte = 0;
    std::size_t got = 0;
    error_ = c_->run(
        [&](auto done) {
            c_->socket.async_read_some(asio::buffer(&byte, 1),
                                       [done, &got](error_code ec, std::size_t n) mutable {
                                           got = n;
                                           done(ec);
                                       });
        },
        timeout);
    return got == 0 && (error_ == asio::error::eof || error_ == asio::error::connection_reset);
}

void HttpClient::close()
{
    error_code ignored;
    c_->socket.close(ignored);
    c_->buffer.clear();
}

bool HttpClient::is_open() const
{
    return c_->socket.is_open();
}

std::size_t HttpClient::buffered() const
{
    return c_->buffer.size();
}

std::string post_telemetry(std::string_view body, std::string_view headers)
{
    std::string r = "POST /v1/telemetry HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n";
    r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    r += headers;
    r += "\r\n";
    r += body;
    return r;
}

std::string bearer_header(std::string_view token)
{
    return "Authorization: Bearer " + std::string(token) + "\r\n";
}

std::string get(std::string_view target, std::string_view headers)
{
    std::string r = "GET ";
    r += target;
    r += " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    r += headers;
    r += "\r\n";
    return r;
}

std::string sample_json(std::string_view device, std::int64_t ts, double value)
{
    return "{\"device\":\"" + std::string(device) + "\",\"ts\":" + std::to_string(ts) +
           ",\"metrics\":{\"v\":" + std::to_string(value) + "}}";
}

std::optional<std::vector<std::pair<std::int64_t, double>>>
device_readings(HttpClient& c, const std::string& device, const std::string& metric, std::size_t limit)
{
    const auto r = c.request(
        get("/v1/devices/" + device + "/samples?metric=" + metric + "&limit=" + std::to_string(limit)));
    if (!r || r->result_int() != 200)
        return std::nullopt;
    error_code ec;
    const boost::json::value v = boost::json::parse(r->body(), ec);
    if (ec || !v.is_array())
        return std::nullopt;
    std::vector<std::pair<std::int64_t, double>> out;
    for (const auto& e : v.as_array())
        out.emplace_back(e.at("ts").to_number<std::int64_t>(), e.at("value").to_number<double>());
    return out;
}

void post_back_to_back(HttpClient& c, PostLog& log, std::int64_t first, const std::atomic<bool>& stop)
{
    for (std::int64_t ts = first; !stop.load(std::memory_order_relaxed); ++ts) {
        if (!c.send(post_telemetry(sample_json(log.device, ts, double(ts % 1000))))) {
            if (c.error() == asio::error::timed_out)
                log.unexpected.push_back("send timed out");
            return;
        }
        auto res = c.read();
        if (!res) {
            if (c.error() == asio::error::timed_out)
                log.unexpected.push_back("no answer within 5 s");
            return;
        }
        if (res->result_int() != 204) {
            log.unexpected.push_back("status " + std::to_string(res->result_int()) + ": " + res->body());
            return;
        }
        log.acked.push_back(ts);
        if (!res->keep_alive())
            return;
    }
}

} // namespace fleetscope::testing
