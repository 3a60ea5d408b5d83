// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "core/sim/device_model.hpp"
#include "core/sim/latency.hpp"
#include "core/sim/options.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace fleetscope::sim {

/// Failed operations, by what went wrong. Keys of the JSON report.
struct ErrorCounts {
    std::uint64_t connect_refused = 0; // ECONNREFUSED: nothing listening, or the accept queue overflowed
    std::uint64_t connect_timeout = 0;
    std::uint64_t connect_other = 0; // no free port, no file descriptor, unreachable...
    std::uint64_t reset = 0;         // ECONNRESET or EPIPE while a request was in flight
    std::uint64_t closed = 0;        // the gateway closed the connection before answering
    std::uint64_t timeout = 0;       // no complete response within request_timeout
    std::uint64_t other = 0;
    std::uint64_t total() const;
    void add(const ErrorCounts& o);
};

/// The outcome of one simulation. `fatal` is set, and nothing else is meaningful, when the run could not
/// start.
struct Report {
    Options options;
    std::string fatal;
    std::string target_address; // resolved
    unsigned threads = 0;
    std::uint64_t fd_limit = 0;                 // RLIMIT_NOFILE soft limit after raising it
    std::vector<std::string> sources;           // empty: the kernel chose the source address
    std::vector<std::uint64_t> source_connects; // successful connects per source address
    std::map<Fault, std::uint64_t> faults;      // misbehaving devices by fault; healthy ones are not listed

    std::uint64_t opened = 0;     // devices whose first connect succeeded
    std::uint64_t refused = 0;    // devices whose first connect was refused
    std::uint64_t failed = 0;     // devices whose first connect failed otherwise
    std::uint64_t reconnects = 0; // connections re-opened after an error or a close
    double ramp_seconds = 0;
    double wall_seconds = 0;    // the whole session, ramp included
    double cpu_seconds = 0;     // this process's CPU time over the session: tells a saturated client apart
    double run_cpu_seconds = 0; // the same, from the end of the ramp to the end of the run

    double run_seconds = 0;      // the measured window: closed/open run, or hold's final check
    std::uint64_t sent = 0;      // requests written, whole session
    std::uint64_t responses = 0; // responses in the measured window
    std::uint64_t ok = 0;        // 2xx responses in the measured window
    std::uint64_t unsent = 0;    // open loop: scheduled sends skipped because the drain deadline passed
    std::uint64_t silent = 0;    // open loop: scheduled sends a silent device (Fault::silent) held back
    double achieved_rps = 0;     // responses / run_seconds
    double ok_rps = 0;           // 2xx / run_seconds: committed requests per second
    double target_rps = 0;       // open loop: connections / interval, less the silent slots per second

    LatencySummary latency;              // measured window; open loop from each request's scheduled time
    std::map<int, std::uint64_t> status; // by HTTP status, whole session
    ErrorCounts errors;                  // whole session
    std::map<std::string, std::uint64_t> error_messages; // "what: system message" for the odd ones

    // Hold mode
    std::uint64_t held = 0;          // connections that answered the first post and were held idle
    std::uint64_t hold_answered = 0; // held connections that answered the check with 2xx
    std::uint64_t hold_failed = 0;   // held connections that did not

    /// 0 when the run went as it should, 1 when a connection was refused or (hold mode) a request failed, 2
    /// when the run could not start.
    int exit_code() const;
};

/// 1234567 -> "1,234,567": the counts reach the millions and are read at a glance.
std::string grouped(std::uint64_t n);

/// The report as the CLI prints it, several aligned lines.
std::string format_text(const Report& r);

/// The report as JSON with stable keys (run-bench.sh reads them).
boost::json::object to_json(const Report& r);

} // namespace fleetscope::sim
