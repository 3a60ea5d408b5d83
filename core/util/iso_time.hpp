// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cstdint>
#include <string>

namespace fleetscope::util {

/// `ms` since the epoch as UTC ISO-8601 with milliseconds, "2024-11-26T14:06:40.123Z", appended to `out`
/// without a temporary (the CSV export writes one per reading). Times before 1970 count back correctly.
void append_iso_time(std::string& out, std::int64_t ms);

/// The same as a new string.
std::string format_iso_time(std::int64_t ms);

} // namespace fleetscope::util
