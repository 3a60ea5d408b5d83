// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <array>
#include <cstddef>
#include <string_view>

namespace fleetscope::util {

/// The characters of every name FleetScope takes from outside (device ids, metric names, rule names, the
/// gateway's name, token holders), as error messages spell them.
inline constexpr std::string_view kIdentifierChars = "[A-Za-z0-9._:-]";

namespace detail {
inline constexpr std::array<bool, 256> kIdentifierTable = [] {
    std::array<bool, 256> table{};
    for (char c : std::string_view("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-"))
        table[static_cast<unsigned char>(c)] = true;
    return table;
}();
} // namespace detail

/// True when `c` is one of [A-Za-z0-9._:-]. A table lookup: the telemetry decoder asks once per character.
constexpr bool is_identifier_char(char c)
{
    return detail::kIdentifierTable[static_cast<unsigned char>(c)];
}

/// True when every character of `s` is one of [A-Za-z0-9._:-] (an empty `s` too).
constexpr bool identifier_chars_only(std::string_view s)
{
    for (char c : s)
        if (!is_identifier_char(c))
            return false;
    return true;
}

/// True when `s` is 1 to `max_len` characters of [A-Za-z0-9._:-].
constexpr bool valid_identifier(std::string_view s, std::size_t max_len)
{
    return !s.empty() && s.size() <= max_len && identifier_chars_only(s);
}

} // namespace fleetscope::util
