// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/net/connection.hpp"

#include "core/metrics/registry.hpp"
#include "core/net/request_parser.hpp"
#include "core/runtime/worker.hpp"
#include "core/runtime/yield.hpp"

#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include <algorithm>
#include <array>
#include <memory_resource>

namespace fleetscope::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using boost::system::error_code;

namespace {
/// A Beast parser error: the peer sent something that is not valid HTTP/1.1.
bool is_parse_error(const error_code& ec)
{
    return ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category();
}
} // namespace

WorkerNet::WorkerNet(runtime::Worker& worker, http::Api& api, metrics::WorkerMetrics& metrics,
                     const Settings& settings)
    : worker_(worker)
    , api_(api)
    , metrics_(metrics)
    , settings_(settings)
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

bool WorkerNet::write(Connection& c, http::Response& res)
{
    if (stopping_)
        res.keep_alive(false);
    metrics_.count_response(static_cast<unsigned>(res.result_int()));
    arm(c, Phase::write, settings_.write_timeout);
    error_code ec;
    bhttp::async_write(c.socket, res, runtime::yield[ec]);
    disarm(c);
    return !ec && res.keep_alive();
}

void WorkerNet::serve(Connection& c)
{
    beast::flat_buffer buffer; // lives only while the fiber does: a parked connection holds no buffer
    std::array<std::byte, 3072> arena_buffer;
    error_code ec;
    for (;;) {
        if (stopping_)
            return close(c);

        if (buffer.size() == 0) {
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
        bhttp::async_read_header(c.socket, buffer, parser, runtime::yield[ec]);
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
                res = api_.error(bhttp::status::bad_request, "malformed HTTP request: " + ec.message(), none);
            else
                return close(c);
            res.keep_alive(false);
            write(c, res);
            return close(c);
        }

        c.busy = true;
        metrics_.requests.add();
        const auto received = Clock::now();
        if (auto refusal = api_.check_header(parser.get())) {
            // The body was not read, so the connection cannot be reused.
            disarm(c);
            refusal->keep_alive(false);
            write(c, *refusal);
            return close(c);
        }
        if (!parser.is_done()) {
            limit_body(parser, settings_);
            if (beast::iequals(parser.get()[bhttp::field::expect], "100-continue")) {
                // curl and many HTTP libraries hold a larger body back until told to go on.
                static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
                arm(c, Phase::write, settings_.write_timeout);
                asio::async_write(c.socket, asio::buffer(kContinue), runtime::yield[ec]);
                disarm(c);
                if (ec)
                    return close(c);
            }
            arm(c, Phase::body, settings_.body_timeout);
            bhttp::async_read(c.socket, buffer, parser, runtime::yield[ec]);
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
                                     "malformed HTTP request body: " + ec.message(), parser.get());
                else
                    return close(c);
                res.keep_alive(false);
                write(c, res);
                return close(c);
            }
        } else {
            disarm(c);
        }

        http::Request request = parser.release();
        http::Response res = api_.handle(request, c.state);
        const bool acked = res.result() == bhttp::status::no_content;
        const bool keep = write(c, res);
        if (acked)
            metrics_.ack_latency.record(Clock::now() - received);
        c.busy = false;
        if (!keep)
            return close(c);
    }
}

} // namespace fleetscope::net
