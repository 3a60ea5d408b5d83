// SPDX-License-Identifier: GPL-3.0-or-later
// Boost's assertion handler for builds with assertions that face clients (FLEETSCOPE_BOOST_ASSERT_HANDLER:
// the dev-asan and fuzz presets, which define BOOST_ENABLE_ASSERT_DEBUG_HANDLER for every translation unit).
// A failed assertion aborts with its message, as <cassert> does, with one exception.
//
// That assertion is wrong: Boost.Beast 1.81's basic_parser::parse_chunk_header asserts that a resumed
// final-chunk header holds at least 5 bytes, but a streamed parser is resumed with 4 when a client sends an
// empty chunked body as "0\r\n", then "\r", in separate reads (found by fuzz_http_request; a Debug gateway
// aborted on it). The code after the assertion handles that case (it asks for more bytes), and Beast
// corrected the assertion upstream (boostorg/beast#2861, 2024).
#include <boost/assert.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace boost {

void assertion_failed(char const* expr, char const* function, char const* file, long line)
{
    if (std::strcmp(expr, "n >= 5") == 0 && std::strstr(function, "parse_chunk_header") != nullptr)
        return;
    std::fprintf(stderr, "%s:%ld: %s: Assertion `%s' failed.\n", file, line, function, expr);
    std::abort();
}

void assertion_failed_msg(char const* expr, char const* msg, char const* function, char const* file,
                          long line)
{
    std::fprintf(stderr, "%s:%ld: %s: Assertion `%s' failed: %s\n", file, line, function, expr, msg);
    std::abort();
}

} // namespace boost
