// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cstdint>

namespace fleetscope::util {

/// The wall clock in milliseconds since the Unix epoch (UTC): sample timestamps, alert and session times.
/// Any thread.
std::int64_t now_ms();

} // namespace fleetscope::util
