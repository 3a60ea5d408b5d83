// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "core/settings.hpp"
#include "core/util/result.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

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
    Millis interval{1'000};  // open loop: each device posts this often; every mode: the readings' time step
    Millis duration{10'000}; // closed and open loop: measured run time
    Millis hold{30'000};     // hold: idle time between the first post and the check
    std::size_t metrics = 4; // metrics per sample
    std::string device_prefix = "sim";
    std::uint64_t seed = 1; // the fleet: which devices misbehave, and every reading they send
    double faulty = 0.05;   // share of devices that misbehave (see sim::Fault), 0 to 1
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

/// Checks ranges and forms; the error says what is wrong and the expected form.
util::Result<void> validate(const Options& o);

/// "host:port" or "[v6]:port" split in two; both empty when there is no colon.
std::pair<std::string, std::string> split_host_port(std::string_view target);

} // namespace fleetscope::sim
