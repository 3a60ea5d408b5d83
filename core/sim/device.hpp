// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// Internal to core/sim.
#include "core/sim/session.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstddef>

namespace fleetscope::sim {

/// The life of simulated device `index`, spawned on worker `w`: its ramp step (connect, and in hold mode the
/// first post), the wait at the start gate, then its mode's schedule until the run ends.
boost::asio::awaitable<void> device_main(Session& s, Worker& w, std::size_t index);

} // namespace fleetscope::sim
