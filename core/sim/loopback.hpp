// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <boost/asio/ip/address.hpp>

#include <cstddef>
#include <vector>

namespace fleetscope::sim {

/// The loopback source addresses for `wanted` sources: 127.0.0.2, 127.0.0.3, ... as far as this host has
/// them, found by binding a TCP socket to each. Linux routes all of 127.0.0.0/8 to the loopback interface;
/// macOS and Windows have only 127.0.0.1 unless more are aliased, and then the answer is {127.0.0.1}, never
/// empty.
std::vector<boost::asio::ip::address> usable_loopback_sources(std::size_t wanted);

/// Whether a TCP socket can be bound to `address` (port 0) on this host.
bool can_bind(const boost::asio::ip::address& address);

} // namespace fleetscope::sim
