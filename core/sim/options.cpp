// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/sim/options.hpp"

#include "core/util/identifier.hpp"

#include <algorithm>

namespace fleetscope::sim {

std::string_view to_string(Mode m)
{
    switch (m) {
    case Mode::closed:
        return "closed";
    case Mode::open:
        return "open";
    case Mode::hold:
        return "hold";
    }
    return "?";
}

std::optional<Mode> parse_mode(std::string_view s)
{
    for (Mode m : {Mode::closed, Mode::open, Mode::hold})
        if (s == to_string(m))
            return m;
    return std::nullopt;
}

std::pair<std::string, std::string> split_host_port(std::string_view target)
{
    const auto colon = target.rfind(':');
    if (colon == std::string_view::npos)
        return {};
    std::string host(target.substr(0, colon));
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    return {host, std::string(target.substr(colon + 1))};
}

util::Result<void> validate(const Options& o)
{
    const auto [host, port] = split_host_port(o.target);
    const auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
    if (host.empty() || port.empty() || !std::all_of(port.begin(), port.end(), is_digit) || port.size() > 5 ||
        std::stoul(port) == 0 || std::stoul(port) > 65535)
        return util::fail("--target '" + o.target + "' is not HOST:PORT with a port from 1 to 65535");
    if (o.connections < 1)
        return util::fail("--connections must be at least 1 (one device per connection)");
    if (o.metrics < 1 || o.metrics > 256)
        return util::fail("--metrics " + std::to_string(o.metrics) +
                          " is out of range: expected 1 to 256 (the gateway's limit)");
    if (o.device_prefix.empty() || !util::identifier_chars_only(o.device_prefix) ||
        o.device_prefix.size() + 1 + std::to_string(o.connections).size() > 128)
        return util::fail("--device-prefix '" + o.device_prefix +
                          "' is invalid: device names are 1 to 128 characters of [A-Za-z0-9._:-]");
    if (!(o.faulty >= 0 && o.faulty <= 1))
        return util::fail("--faulty " + std::to_string(o.faulty) +
                          " is out of range: expected a share of devices from 0 to 1");
    if (o.interval.count() < 1)
        return util::fail("--interval must be at least 1 ms");
    if (o.mode != Mode::hold && o.duration.count() < 1)
        return util::fail("--duration must be positive");
    if (o.mode == Mode::hold && o.hold.count() < 0)
        return util::fail("--hold must not be negative");
    if (o.sources > 254)
        return util::fail("--sources " + std::to_string(o.sources) +
                          " is out of range: expected 0 (auto) to 254 (127.0.0.2 to 127.0.0.255)");
    if (o.ramp_rate < 0)
        return util::fail("--ramp-rate must not be negative (0: unlimited)");
    if (o.max_connecting < 1)
        return util::fail("--max-connecting must be at least 1");
    if (o.connect_timeout.count() < 1 || o.request_timeout.count() < 1)
        return util::fail("--connect-timeout and --request-timeout must be at least 1 ms");
    if (o.progress_period.count() < 1)
        return util::fail("the progress period must be at least 1 ms");
    if (!o.ca_file.empty() && !o.tls)
        return util::fail("--ca needs --tls");
    if (o.token.find_first_of(" \t\r\n") != std::string::npos)
        return util::fail("--token must not contain blanks or line breaks");
    return {};
}

} // namespace fleetscope::sim
