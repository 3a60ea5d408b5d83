// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "core/net/deadline.hpp"
#include "core/settings.hpp"

namespace fleetscope::metrics {
struct WorkerMetrics;
}

namespace fleetscope::net {

class BodyStream;

/// What a connection shares with the Wire that reads and writes its requests: the deadline its worker's
/// wheel expires, and what a graceful stop looks at. Touched only on the connection's worker thread.
struct WireState : Deadline {
    bool busy = false;               // a request is being answered: a graceful stop lets it finish
    BodyStream* streaming = nullptr; // the response body being streamed, which a graceful stop cancels
};

/// What every connection of one worker reads and writes requests with. Owned by that worker's WorkerNet
/// (a test builds its own) and used only on the worker's thread.
struct WireContext {
    DeadlineWheel& deadlines;
    const Settings& settings;
    metrics::WorkerMetrics& metrics;
    const bool& stopping; // the server began a graceful stop: answers say Connection: close
};

} // namespace fleetscope::net
