// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/net/listener.hpp"

#include "core/metrics/system.hpp"

#include <boost/asio/ip/address.hpp>

#include <algorithm>
#include <fstream>
#include <stdexcept>

namespace fleetscope::net {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

int somaxconn()
{
#if defined(__linux__)
    std::ifstream f("/proc/sys/net/core/somaxconn");
    int v = 0;
    if (f >> v && v > 0)
        return v;
#endif
    return SOMAXCONN;
}

tcp::endpoint resolve(asio::io_context& io, const std::string& address)
{
    const auto colon = address.rfind(':');
    if (colon == std::string::npos)
        throw std::runtime_error("listen address '" + address + "': expected HOST:PORT");
    std::string host = address.substr(0, colon);
    const std::string port = address.substr(colon + 1);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    boost::system::error_code ec;
    tcp::resolver resolver(io);
    auto results = resolver.resolve(host, port, tcp::resolver::passive | tcp::resolver::numeric_service, ec);
    if (ec || results.empty())
        throw std::runtime_error("listen address '" + address + "': cannot resolve host '" + host +
                                 "': " + (ec ? ec.message() : "no address"));
    return results.begin()->endpoint();
}

} // namespace

Listener::Listener(asio::io_context& io, const std::string& address, int backlog)
    : acceptor_(io)
{
    const tcp::endpoint ep = resolve(io, address);
    boost::system::error_code ec;
    acceptor_.open(ep.protocol(), ec);
    if (!ec)
        acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec)
        acceptor_.bind(ep, ec);
    if (!ec)
        acceptor_.listen(backlog, ec);
    if (ec)
        throw std::runtime_error("cannot listen on " + address + ": " + ec.message());

    const tcp::endpoint bound = acceptor_.local_endpoint();
    port_ = bound.port();
    const std::string host = bound.address().to_string();
    local_ = (bound.address().is_v6() ? "[" + host + "]" : host) + ":" + std::to_string(port_);

    const auto q = metrics::sample_listen_queue(static_cast<int>(acceptor_.native_handle()));
    effective_backlog_ = q.limit >= 0 ? static_cast<int>(q.limit) : std::min(backlog, somaxconn());
}

} // namespace fleetscope::net
