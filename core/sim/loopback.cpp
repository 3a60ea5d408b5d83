// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/sim/loopback.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace fleetscope::sim {

namespace asio = boost::asio;

bool can_bind(const asio::ip::address& address)
{
    asio::io_context io;
    asio::ip::tcp::socket socket(io);
    boost::system::error_code ec;
    socket.open(address.is_v4() ? asio::ip::tcp::v4() : asio::ip::tcp::v6(), ec);
    if (!ec)
        socket.bind(asio::ip::tcp::endpoint(address, 0), ec);
    return !ec;
}

std::vector<asio::ip::address> usable_loopback_sources(std::size_t wanted)
{
    std::vector<asio::ip::address> out;
    for (std::size_t i = 0; i < wanted; ++i) {
        const asio::ip::address a = asio::ip::address_v4((127u << 24) | static_cast<unsigned>(2 + i));
        if (can_bind(a))
            out.push_back(a);
    }
    if (out.empty())
        out.push_back(asio::ip::address_v4::loopback());
    return out;
}

} // namespace fleetscope::sim
