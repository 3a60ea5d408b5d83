// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// A blocking client on a raw TCP socket, for tests that watch bytes as they arrive (a streamed body, a close)
// rather than parsed responses: every wait is bounded by SO_RCVTIMEO (5 s).

#include <arpa/inet.h>
#include <chrono>
#include <cstdint>
#include <netinet/in.h>
#include <string>
#include <string_view>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

namespace fleetscope::testing {

class RawClient {
public:
    /// Connects from `source` (any when empty) to `host`:`port`; `receive_buffer` > 0 shrinks SO_RCVBUF first
    /// (a reader that stalls sooner).
    explicit RawClient(std::uint16_t port, int receive_buffer = 0, const std::string& host = "127.0.0.1",
                       const std::string& source = {})
    {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (receive_buffer > 0)
            ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
        timeval tv{5, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        if (!source.empty()) {
            inet_pton(AF_INET, source.c_str(), &addr.sin_addr);
            if (::bind(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0)
                return;
        }
        addr.sin_port = htons(port);
        inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
        connected_ = ::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
    }
    ~RawClient() { ::close(fd_); }
    RawClient(const RawClient&) = delete;
    RawClient& operator=(const RawClient&) = delete;

    bool connected() const { return connected_; }
    bool send(std::string_view bytes)
    {
        return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size());
    }
    /// Reads until `text` is among the bytes received after `from` (true), or the peer closes, a read waits
    /// 5 s or `limit` passes (false).
    bool read_until(std::string_view text, std::size_t from = 0,
                    std::chrono::seconds limit = std::chrono::seconds(10))
    {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        while (received_.find(text, from) == std::string::npos)
            if (std::chrono::steady_clock::now() > deadline || !read_some())
                return false;
        return true;
    }
    /// Reads until the peer closes: true on EOF with no read waiting 5 s.
    bool read_to_end()
    {
        while (read_some()) {
        }
        return eof_;
    }
    const std::string& received() const { return received_; }

private:
    bool read_some()
    {
        char buf[16384];
        const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
        if (n > 0) {
            received_.append(buf, static_cast<std::size_t>(n));
            return true;
        }
        eof_ = n == 0;
        return false;
    }

    int fd_ = -1;
    bool connected_ = false;
    bool eof_ = false;
    std::string received_;
};

} // namespace fleetscope::testing
