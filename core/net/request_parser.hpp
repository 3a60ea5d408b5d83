// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "core/http/api.hpp"
#include "core/settings.hpp"

#include <boost/beast/http/parser.hpp>

#include <cstdint>

namespace fleetscope::net {

/// The parser a connection reads each request with; header fields and body allocate from the request's arena.
/// Its limits are set in two steps, by the functions below, so that the fuzz target parses exactly as a
/// connection does.
using RequestParser = boost::beast::http::request_parser<http::Body, http::Allocator>;

/// Before the header is read: the request line and header fields are bounded by max-header-bytes (431), and
/// the body is not bounded yet, so that an announced Content-Length above max-body-bytes reaches
/// Api::check_header and is answered 413 with the limit rather than as a parse error.
inline void limit_header(RequestParser& parser, const Settings& settings)
{
    parser.header_limit(static_cast<std::uint32_t>(settings.max_header_bytes));
    parser.body_limit(boost::none);
}

/// Once check_header accepted the header: max-body-bytes, which also bounds chunked bodies as they arrive.
inline void limit_body(RequestParser& parser, const Settings& settings)
{
    parser.body_limit(settings.max_body_bytes);
}

} // namespace fleetscope::net
