// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/util/clock.hpp"

#include <chrono>

namespace fleetscope::util {

std::int64_t now_ms()
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

} // namespace fleetscope::util
