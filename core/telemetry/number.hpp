// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <charconv>
#include <cmath>
#include <string>

namespace fleetscope::telemetry {

/// Appends a finite reading as the shortest decimal that reads back to the same double ("21.5", "1e+300"),
/// valid in JSON and CSV alike. Boost.JSON's serializer writes "2.15E1", which is valid but reads badly in a
/// response or a spreadsheet. Non-finite values never reach the store (the decoder rejects them); they are
/// written as `null` should one appear.
inline void append_number(std::string& out, double value)
{
    if (!std::isfinite(value)) {
        out += "null";
        return;
    }
    char buf[32];
    const auto end = std::to_chars(buf, buf + sizeof buf, value).ptr;
    out.append(buf, end);
}

} // namespace fleetscope::telemetry
