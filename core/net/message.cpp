// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/net/message.hpp"

#include <boost/beast/http/rfc7230.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

namespace fleetscope::net {

namespace {

/// A message may quote what the client sent (a path, a header value, a query key), and those bytes may be
/// anything, but a JSON body must be valid UTF-8. Bytes outside printable ASCII are written as \xNN, as the
/// telemetry codec quotes body text.
std::string printable(std::string_view s)
{
    constexpr std::string_view kHex = "0123456789abcdef";
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte >= 0x20 && byte < 0x7f) {
            out += c;
        } else {
            out += "\\x";
            out += kHex[byte >> 4];
            out += kHex[byte & 0xf];
        }
    }
    return out;
}

/// Whether the list field `name` of `request` holds the member "*"; `present` says whether it is there.
bool has_star(const Request& request, bhttp::field name, bool& present)
{
    present = false;
    bool star = false;
    for_each_line(request, name, [&](std::string_view value) {
        present = true;
        if (value.find('*') != std::string_view::npos)
            for (const auto& member : bhttp::token_list(value))
                star = star || member == "*";
    });
    return star;
}

} // namespace

Response make_response(bhttp::status status, std::string_view body, std::string_view content_type,
                       const Request& request)
{
    const Allocator alloc = request.get_allocator();
    Response res{std::piecewise_construct, std::make_tuple(alloc), std::make_tuple(alloc)};
    res.result(status);
    res.set(bhttp::field::server, "FleetScope/" FLEETSCOPE_VERSION);
    if (!content_type.empty())
        res.set(bhttp::field::content_type, content_type);
    res.body().assign(body.data(), body.size());
    // 1xx, 204 and 304 end with their header and say nothing of a length (RFC 9110 8.6).
    const auto code = static_cast<unsigned>(status);
    if (code >= 200 && code != 204 && code != 304)
        res.prepare_payload();
    return res;
}

Response error_response(bhttp::status status, std::string_view message, const Request& request)
{
    std::string body = R"({"error":)";
    body += boost::json::serialize(boost::json::string_view(printable(message)));
    body += '}';
    return make_response(status, body, "application/json", request);
}

std::optional<bhttp::status> failed_precondition(const Request& request, bool represented)
{
    // Without entity tags, If-Match holds only as "*" on a resource that has a representation, and
    // If-None-Match fails only as "*" there (RFC 9110 13.1.1, 13.1.2).
    bool present = false;
    if (const bool star = has_star(request, bhttp::field::if_match, present);
        present && !(star && represented))
        return bhttp::status::precondition_failed;
    if (has_star(request, bhttp::field::if_none_match, present) && represented) {
        const auto method = request.method();
        return method == bhttp::verb::get || method == bhttp::verb::head ? bhttp::status::not_modified
                                                                         : bhttp::status::precondition_failed;
    }
    return std::nullopt;
}

} // namespace fleetscope::net
