// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// The fleet simulator's entry point. The folder, one job per file (docs/architecture.md, "The simulator"):
// options (what to run), simulator (the controller: set-up, ramp, start gate, merge), phases (its waits and
// tallies), session (the state the controller and the io_context threads share), device (one device's
// coroutine and its schedule), connection (its socket, TLS and one exchange at a time), payload (the POST
// it sends), device_model (the readings and the faults), latency, progress and report.
#include "core/sim/options.hpp"
#include "core/sim/progress.hpp"
#include "core/sim/report.hpp"

#include <cstddef>

namespace fleetscope::sim {

/// File descriptors a run of `connections` needs beyond the connections themselves (threads, stdio, epoll).
constexpr std::size_t kFdReserve = 64;

/// Runs a whole simulation and blocks until it ends: ramp, then run (or hold and check). Starts its own
/// io_context threads and joins them before returning. Never throws for network failures; they are counted.
Report run(const Options& options, const ProgressCallback& progress = {});

} // namespace fleetscope::sim
