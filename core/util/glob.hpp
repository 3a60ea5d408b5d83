// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cstddef>
#include <string_view>

namespace fleetscope::util {

/// The one glob dialect, for export device selections and alert rules alike: `*` matches any run (also an
/// empty one), `?` any one character, `[abc]`, `[a-z]` one character of a set, `[!a-z]` or `[^a-z]` one
/// character outside it; everything else matches itself. A `[` with no closing `]` is an ordinary character,
/// and a `]` first in a set is a member of it. Iterative with one backtrack point for the last `*`, so linear
/// for the patterns people type. Pure; any thread.
bool glob_match(std::string_view pattern, std::string_view text);

/// True when `pattern` is a glob over identifiers that a rule may hold: 1 to `max_len` characters, each of
/// [A-Za-z0-9._:-*?] or in a set: `[`, perhaps `!` or `^`, one or more of [A-Za-z0-9._:-], then `]`.
bool valid_glob(std::string_view pattern, std::size_t max_len);

} // namespace fleetscope::util
