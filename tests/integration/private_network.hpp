// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// A network of the test's own, so that a gateway can see a peer that is not on loopback without any packet
// leaving the process's sandbox: the test process moves into a new network namespace (Linux, root or
// CAP_SYS_ADMIN), brings its loopback interface up and gives it one more address, kRemoteAddress, outside
// 127.0.0.0/8. A client bound to that address reaches a gateway listening on 0.0.0.0 over the namespace's
// loopback interface, and the gateway sees 192.0.2.1, which is not a loopback address. The namespace has no
// other interface and ends with the process.

#include <string>

#ifdef __linux__
#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#endif

namespace fleetscope::testing {

/// TEST-NET-1 (RFC 5737): documentation addresses, which no real host uses.
inline constexpr const char* kRemoteAddress = "192.0.2.1";

/// Moves the calling thread, and every thread and process it starts afterwards, into a new network namespace
/// with `lo` up (127.0.0.1, ::1) and kRemoteAddress on `lo:1`. Call before starting any thread that opens
/// sockets. Returns an empty string on success, else why it could not (the caller skips with that message).
inline std::string enter_private_network()
{
#ifdef __linux__
    if (unshare(CLONE_NEWNET) != 0)
        return std::string("cannot make a network namespace (unshare(CLONE_NEWNET): ") +
               std::strerror(errno) + "; it needs root or CAP_SYS_ADMIN)";
    const int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0)
        return std::string("socket: ") + std::strerror(errno);
    auto fail = [fd](const char* what) {
        const std::string why = std::string(what) + ": " + std::strerror(errno);
        ::close(fd);
        return why;
    };
    ifreq lo{};
    std::strncpy(lo.ifr_name, "lo", IFNAMSIZ - 1);
    if (ioctl(fd, SIOCGIFFLAGS, &lo) != 0)
        return fail("SIOCGIFFLAGS lo");
    lo.ifr_flags |= IFF_UP;
    if (ioctl(fd, SIOCSIFFLAGS, &lo) != 0)
        return fail("SIOCSIFFLAGS lo up");
    ifreq alias{};
    std::strncpy(alias.ifr_name, "lo:1", IFNAMSIZ - 1);
    auto* addr = reinterpret_cast<sockaddr_in*>(&alias.ifr_addr);
    addr->sin_family = AF_INET;
    inet_pton(AF_INET, kRemoteAddress, &addr->sin_addr);
    if (ioctl(fd, SIOCSIFADDR, &alias) != 0)
        return fail("SIOCSIFADDR lo:1");
    ::close(fd);
    return {};
#else
    return "network namespaces are Linux only";
#endif
}

/// Where a test gateway listens, given what enter_private_network() returned: every address inside the
/// private network (127.0.0.1 and kRemoteAddress), loopback only outside it, so that a test never listens on
/// the host's own interfaces.
inline std::string test_listen_address(const std::string& network_error)
{
    return network_error.empty() ? "0.0.0.0:0" : "127.0.0.1:0";
}

} // namespace fleetscope::testing
