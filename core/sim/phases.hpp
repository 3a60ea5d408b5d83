// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// Internal to core/sim: how the controller thread follows a run through its phases.
#include "core/sim/progress.hpp"
#include "core/sim/session.hpp"

#include <chrono>
#include <functional>

namespace fleetscope::sim {

/// The tally of every worker as of now.
Progress tally(Session& s, Phase phase, Clock::time_point phase_start, Clock::time_point ramp_start);

/// Reports progress every `progress_period` and waits on the session until `done()` holds. `step` runs
/// before each check; `poll` bounds each wait, for work due by the clock rather than signalled (the ramp
/// rate). Controller thread only.
void wait_reporting(Session& s, Phase phase, Clock::time_point ramp_start, const ProgressCallback& progress,
                    const std::function<bool()>& done, const std::function<void()>& step = {},
                    Clock::duration poll = std::chrono::milliseconds(100));

double seconds_between(Clock::time_point a, Clock::time_point b);

} // namespace fleetscope::sim
