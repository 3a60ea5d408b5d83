// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/sim/progress.hpp"

namespace fleetscope::sim {

std::string_view to_string(Phase p)
{
    switch (p) {
    case Phase::ramp:
        return "ramp";
    case Phase::run:
        return "run";
    case Phase::hold:
        return "hold";
    case Phase::check:
        return "check";
    case Phase::done:
        return "done";
    }
    return "?";
}

} // namespace fleetscope::sim
