// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "core/settings.hpp"
#include "core/sim/histogram.hpp"

#include <boost/json/object.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fleetscope::sim {

/// How devices send: `closed` posts back to back on every connection; `open` posts every interval on a fixed
/// schedule whatever the answers take; `hold` posts once, idles, then checks every connection still answers.
enum class Mode { closed, open, hold };

std::string_view to_string(Mode m);
std::optional<Mode> parse_mode(std::string_view s);

/// What to simulate. Plain value type; `run` copies it.
struct Options {
    std::string target = "127.0.0.1:8080"; // HOST:PORT of the gateway
    std::size_t connections = 100;         // one device per connection
    Mode mode = Mode::closed;
    Millis interval{1'000};  // open loop: each device posts this often
    Millis duration{10'000}; // closed and open loop: measured run time
    Millis hold{30'000};     // hold: idle time between the first post and the check
    std::size_t metrics = 4; // metrics per sample
    std::string device_prefix = "sim";
    // Loopback source addresses 127.0.0.2, .3, ...; 0: enough that none needs over kPortsPerSource ports.
    std::size_t sources = 0;
    double ramp_rate = 0;             // connections opened per second; 0: as fast as max_connecting allows
    std::size_t max_connecting = 512; // ramp steps in flight: connects, and in hold mode the first posts
    unsigned threads = 0;             // io_context threads; 0: one per core
    Millis connect_timeout{10'000};
    Millis request_timeout{10'000};
    Millis progress_period{1'000}; // how often `run` calls its progress callback
    bool tls = false;              // HTTPS
    std::string ca_file; // HTTPS: verify the gateway's certificate against this PEM; empty: no check
    std::string token;   // sent as `Authorization: Bearer` by every device; empty: none

    /// Connections per source address when `sources` is 0. Far below Linux's 28,232 ephemeral ports on
    /// purpose: connect() searches for a free port, and the search grows with the ports already taken.
    /// Measured here, 15,000 connections from one address opened at 3,400/s with 4.1 s of client CPU, mostly
    /// in the kernel's __inet_hash_connect; from four addresses, at 12,500/s with 1.6 s.
    static constexpr std::size_t kPortsPerSource = 5'000;
};

/// Checks ranges and forms; returns an empty string when valid, else what is wrong and the expected form.
std::string validate(const Options& o);

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
    double achieved_rps = 0;     // responses / run_seconds
    double ok_rps = 0;           // 2xx / run_seconds: committed requests per second
    double target_rps = 0;       // open loop: connections / interval

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

/// Called on `run`'s thread every `progress_period` and at the start of every phase.
using ProgressCallback = std::function<void(const Progress&)>;

/// Raises the soft RLIMIT_NOFILE to the hard limit (as Go does at start-up) and returns the resulting soft
/// limit.
std::uint64_t raise_fd_limit();

/// File descriptors a run of `connections` needs beyond the connections themselves (threads, stdio, epoll).
constexpr std::size_t kFdReserve = 64;

/// Runs a whole simulation and blocks until it ends: ramp, then run (or hold and check). Starts its own
/// io_context threads and joins them before returning. Never throws for network failures; they are counted.
Report run(const Options& options, const ProgressCallback& progress = {});

/// 1234567 -> "1,234,567": the counts reach the millions and are read at a glance.
std::string grouped(std::uint64_t n);

/// The report as the CLI prints it, several aligned lines.
std::string format_text(const Report& r);

/// The report as JSON with stable keys (run-bench.sh reads them).
boost::json::object to_json(const Report& r);

} // namespace fleetscope::sim
