// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cstdint>
#include <string_view>

namespace fleetscope::metrics {

// Process and kernel probes for the sampler. Each returns -1 where the platform cannot say ("not available").
// Stateless free functions: safe from any thread.

/// Raises the soft RLIMIT_NOFILE to the hard limit, as Go's runtime does at start-up (capped at OPEN_MAX on
/// macOS, whose kernel refuses more). Returns the soft limit in force afterwards, INT64_MAX when unlimited,
/// or -1 when the platform has no such limit.
std::int64_t raise_fd_limit();

/// The current soft RLIMIT_NOFILE: INT64_MAX when unlimited, -1 when not available.
std::int64_t fd_limit();

/// File descriptors this process holds now (entries of /proc/self/fd), or -1 when not available.
std::int64_t open_fd_count();

/// Resident set size of this process in bytes (/proc/self/statm), or -1 when not available.
std::int64_t process_rss_bytes();

/// Resident and virtual memory of this process in bytes, from one read of /proc/self/statm; -1s when not
/// available.
struct ProcessMemory {
    std::int64_t resident = -1;
    std::int64_t virtual_size = -1;
};
ProcessMemory process_memory();

/// When this process started, in seconds since the Unix epoch: on Linux the boot time (/proc/stat btime) plus
/// the process's start in clock ticks after boot (/proc/self/stat field 22), as Prometheus's own clients
/// compute it; on Windows its creation time. -1 where not available.
double process_start_time_seconds();

/// User plus system CPU time of this process, in seconds; -1 where not available.
double process_cpu_seconds();

/// The kernel accept queue of one listening socket. Both -1 when not available.
struct ListenQueue {
    std::int64_t queue = -1; // connections completed by the kernel and not yet accepted
    std::int64_t limit = -1; // the effective backlog: the listen() argument clamped to net.core.somaxconn
};

/// On Linux, TCP_INFO on a LISTEN socket reports the current queue in tcpi_unacked and the backlog limit in
/// tcpi_sacked. Returns -1s for a socket that is not a listening TCP socket, or on other platforms.
ListenQueue sample_listen_queue(int listen_fd);

/// Host-wide (network-namespace-wide) totals of connections the kernel refused before any accept():
/// TcpExt ListenOverflows (accept queue full) and ListenDrops (every drop on a listener, overflows included).
struct ListenCounters {
    std::int64_t overflows = -1;
    std::int64_t drops = -1;
};

/// Reads /proc/net/netstat on Linux; -1s elsewhere or when unreadable.
ListenCounters read_listen_counters();

/// Parses /proc/net/netstat text: pairs of lines "TcpExt: <names...>" and "TcpExt: <values...>". A field that
/// is missing or malformed stays -1. Exposed for tests.
ListenCounters parse_listen_counters(std::string_view netstat);

} // namespace fleetscope::metrics
