// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "core/net/arena.hpp"

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>

#include <array>
#include <cstddef>
#include <memory_resource>
#include <optional>
#include <string_view>

namespace fleetscope::net {

namespace bhttp = boost::beast::http;

/// Requests and responses allocate from the connection fiber's per-request arena (RequestArena), so header
/// fields and small bodies cost no heap allocation.
using Allocator = ArenaAllocator<char>;
using Fields = bhttp::basic_fields<Allocator>;
using Body = bhttp::basic_string_body<char, std::char_traits<char>, Allocator>;
using Request = bhttp::request<Body, Fields>;
using Response = bhttp::response<Body, Fields>;
/// The parser a connection reads each request with, on the request's arena.
using RequestParser = bhttp::request_parser<Body, Allocator>;

/// Calls `f(value)` for each field line of `fields` named `name`, in order. (Beast 1.81's equal_range spans
/// the lines of other names in between too.)
template <class F>
void for_each_line(const Fields& fields, bhttp::field name, F&& f)
{
    auto it = fields.find(name);
    for (; it != fields.end(); ++it)
        if (it->name() == name)
            f(it->value());
}

/// Everything one request allocates: a monotonic arena on the connection fiber's stack, released at once
/// when the request is answered. Lives on the stack of the fiber that reads the request.
class RequestArena {
public:
    RequestArena()
        : resource_(buffer_.data(), buffer_.size())
    {}
    RequestArena(const RequestArena&) = delete;
    RequestArena& operator=(const RequestArena&) = delete;

    Allocator allocator() { return Allocator(&resource_); }

private:
    std::array<std::byte, 3072> buffer_;
    std::pmr::monotonic_buffer_resource resource_;
};

/// A response to `request` on the request's arena: `status`, a Server field, `body` and its Content-Length,
/// and `content_type` unless it is empty (a 204 has none; a streamed head names what its body will be). The
/// connection sets the version, Date and Connection fields when it writes the response.
Response make_response(bhttp::status status, std::string_view body, std::string_view content_type,
                       const Request& request);

/// An error response: `{"error": message}` as application/json. Bytes of `message` outside printable ASCII
/// (a quoted path or header value can hold anything) are written as \xNN, so the body is always valid JSON.
Response error_response(bhttp::status status, std::string_view message, const Request& request);

/// RFC 9110 13.2 for a resource without validators (no entity tags, no modification dates), which has a
/// current representation when `represented` (a GET route): 412 when If-Match fails, 304 (GET, HEAD) or 412
/// when If-None-Match fails, nothing when the method may be performed. If-Modified-Since,
/// If-Unmodified-Since and If-Range are ignored, as RFC 9110 13.1.3-13.1.5 require without a date or ranges.
std::optional<bhttp::status> failed_precondition(const Request& request, bool represented);

} // namespace fleetscope::net
