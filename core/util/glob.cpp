// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/util/glob.hpp"

#include "core/util/identifier.hpp"

#include <optional>

namespace fleetscope::util {

namespace {

/// Whether `c` is in the set that opens at pattern[at] == '['; `at` moves past its `]`. Nothing for a set
/// with no `]`, whose `[` is then an ordinary character.
std::optional<bool> match_set(std::string_view pattern, std::size_t& at, char c)
{
    std::size_t i = at + 1;
    bool negate = false;
    if (i < pattern.size() && (pattern[i] == '!' || pattern[i] == '^')) {
        negate = true;
        ++i;
    }
    bool matched = false;
    for (bool first = true; i < pattern.size() && (first || pattern[i] != ']'); ++i, first = false) {
        if (i + 2 < pattern.size() && pattern[i + 1] == '-' && pattern[i + 2] != ']') {
            if (c >= pattern[i] && c <= pattern[i + 2])
                matched = true;
            i += 2;
        } else if (pattern[i] == c) {
            matched = true;
        }
    }
    if (i >= pattern.size())
        return std::nullopt;
    at = i + 1;
    return matched != negate;
}

} // namespace

bool glob_match(std::string_view pattern, std::string_view text)
{
    std::size_t p = 0;
    std::size_t t = 0;
    std::size_t star = std::string_view::npos;
    std::size_t star_t = 0;
    while (t < text.size()) {
        if (p < pattern.size() && pattern[p] == '*') {
            star = p++;
            star_t = t;
            continue;
        }
        if (p < pattern.size()) {
            if (pattern[p] == '?') {
                ++p;
                ++t;
                continue;
            }
            if (pattern[p] == '[') {
                std::size_t next = p;
                if (auto m = match_set(pattern, next, text[t])) {
                    if (*m) {
                        p = next;
                        ++t;
                        continue;
                    }
                } else if (text[t] == '[') {
                    ++p;
                    ++t;
                    continue;
                }
            } else if (pattern[p] == text[t]) {
                ++p;
                ++t;
                continue;
            }
        }
        if (star == std::string_view::npos)
            return false;
        p = star + 1;
        t = ++star_t;
    }
    while (p < pattern.size() && pattern[p] == '*')
        ++p;
    return p == pattern.size();
}

bool valid_glob(std::string_view pattern, std::size_t max_len)
{
    if (pattern.empty() || pattern.size() > max_len)
        return false;
    for (std::size_t i = 0; i < pattern.size(); ++i) {
        const char c = pattern[i];
        if (is_identifier_char(c) || c == '*' || c == '?')
            continue;
        if (c != '[')
            return false;
        ++i;
        if (i < pattern.size() && (pattern[i] == '!' || pattern[i] == '^'))
            ++i;
        const std::size_t members = i;
        while (i < pattern.size() && is_identifier_char(pattern[i]))
            ++i;
        if (i == members || i == pattern.size() || pattern[i] != ']')
            return false;
    }
    return true;
}

} // namespace fleetscope::util
