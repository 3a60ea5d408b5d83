// SPDX-License-Identifier: GPL-3.0-or-later
// The fuzz build keeps Boost's assertions on as oracles (BOOST_ENABLE_ASSERT_HANDLER, set by FLEETSCOPE_FUZZ
// for every translation unit): a failed one aborts with its message, as <cassert> does.
//
// One assertion is let pass because it is wrong: Boost.Beast 1.81's basic_parser::parse_chunk_header asserts
// that a resumed final-chunk header holds at least 5 bytes, but a streamed parser is resumed with 4 when
// "0\r\n" and then "\r" arrive in separate reads, as they do from a slow client. The code after the assertion
// handles that case (it asks for more bytes), and Beast corrected the assertion upstream
// (boostorg/beast#2861, 2024).
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
