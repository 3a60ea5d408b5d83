// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/sim/session.hpp"

#include "core/sim/loopback.hpp"

#include <algorithm>
#include <cstdio>

namespace fleetscope::sim {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// The size of Linux's ephemeral port range, or 0 where it cannot be read.
std::size_t ephemeral_ports()
{
    std::FILE* f = std::fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
    if (!f)
        return 0;
    unsigned low = 0;
    unsigned high = 0;
    const bool ok = std::fscanf(f, "%u %u", &low, &high) == 2 && high >= low;
    std::fclose(f);
    return ok ? high - low + 1 : 0;
}

std::size_t auto_sources(const Options& o)
{
    return std::max<std::size_t>(1,
                                 (o.connections + Options::kPortsPerSource - 1) / Options::kPortsPerSource);
}

} // namespace

util::Result<void> Session::prepare(const Options& o, Report& r)
{
    opt = o;
    {
        const auto [name, port] = split_host_port(o.target);
        asio::io_context resolve_io;
        tcp::resolver resolver(resolve_io);
        boost::system::error_code ec;
        const auto results = resolver.resolve(name, port, ec);
        if (ec || results.empty())
            return util::fail("cannot resolve --target '" + o.target + "': " + ec.message());
        target = results.begin()->endpoint();
        host = name;
        boost::system::error_code not_an_address;
        asio::ip::make_address(name, not_an_address);
        sni = static_cast<bool>(not_an_address);
        r.target_address = target.address().to_string() + ":" + std::to_string(target.port());
    }

    if (o.tls) {
        tls = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
        if (o.ca_file.empty()) {
            tls->set_verify_mode(asio::ssl::verify_none);
        } else {
            boost::system::error_code ec;
            tls->load_verify_file(o.ca_file, ec);
            if (ec)
                return util::fail("--ca " + o.ca_file + ": cannot load PEM certificates: " + ec.message());
            tls->set_verify_mode(asio::ssl::verify_peer);
        }
    }

    // Source addresses only make sense towards a loopback target: 127.0.0.2.. reach nothing else.
    const bool loopback_v4 = target.address().is_v4() && (target.address().to_v4().to_uint() >> 24) == 127;
    if (!loopback_v4) {
        if (o.sources > 0)
            return util::fail("--sources needs a target in 127.0.0.0/8; " + r.target_address +
                              " is not loopback");
        return {};
    }
    // 127.0.0.2 and up, as many as the host has; only 127.0.0.1 where no other is configured (macOS).
    const std::size_t wanted = o.sources ? o.sources : auto_sources(o);
    sources = usable_loopback_sources(wanted);
    const std::size_t n = sources.size();
    const std::size_t per_source = (o.connections + n - 1) / n;
    if (const std::size_t ports = ephemeral_ports(); ports > 0 && per_source > ports) {
        std::string err = "--connections " + std::to_string(o.connections) + " over " + std::to_string(n) +
                          " source address(es) needs " + std::to_string(per_source) +
                          " ephemeral ports per address, but net.ipv4.ip_local_port_range holds " +
                          std::to_string(ports) + ": use --sources " +
                          std::to_string((o.connections + ports - 1) / ports) + " or more";
        if (n < wanted)
            err += " (this host lets only " + std::to_string(n) + " of the " + std::to_string(wanted) +
                   " loopback addresses from 127.0.0.2 be bound: add the others to the loopback interface)";
        return util::fail(std::move(err));
    }
    for (const auto& a : sources)
        r.sources.push_back(a.to_string());
    return {};
}

void Worker::add_to(Report& r) const
{
    for (auto [code, n] : status)
        r.status[code] += n;
    r.errors.add(errors);
    for (const auto& [msg, n] : error_messages)
        r.error_messages[msg] += n;
    r.source_connects.resize(std::max(r.source_connects.size(), source_connects.size()));
    for (std::size_t i = 0; i < source_connects.size(); ++i)
        r.source_connects[i] += source_connects[i];
    r.opened += opened;
    r.refused += refused;
    r.failed += failed;
    r.reconnects += reconnects;
    r.sent += sent;
    r.unsent += unsent;
    r.silent += silent;
    r.responses += responses;
    r.ok += ok;
    r.held += held;
    r.hold_answered += hold_answered;
    r.hold_failed += hold_failed;
}

} // namespace fleetscope::sim
