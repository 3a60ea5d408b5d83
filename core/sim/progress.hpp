// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>

namespace fleetscope::sim {

enum class Phase { ramp, run, hold, check, done };
std::string_view to_string(Phase p);

/// A running tally handed to the progress callback, on the thread that called `run`.
struct Progress {
    Phase phase = Phase::ramp;
    bool phase_started = false; // first report of this phase
    double phase_seconds = 0;   // time since the phase began
    std::size_t target_connections = 0;
    std::uint64_t opened = 0; // connections open now or opened earlier (first connect of each device)
    std::uint64_t failed = 0; // devices whose first connect failed (refused included)
    std::uint64_t refused = 0;
    std::uint64_t responses = 0; // responses received in this run so far, any status
    std::uint64_t ok = 0;        // 2xx responses
    std::uint64_t errors = 0;    // requests that got no response
    double connects_per_s = 0;   // since the ramp began
    double recent_rps = 0;       // responses per second since the previous report
};

/// Called on `run`'s thread every `progress_period` and at the start of every phase.
using ProgressCallback = std::function<void(const Progress&)>;

} // namespace fleetscope::sim
