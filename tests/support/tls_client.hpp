// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// An HTTPS client for the tests, with HttpClient's deadlines. Its Asio SSL code is compiled once, in
// tls_client.cpp (fleetscope_test_clients).

#include "support/http_client.hpp"

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace fleetscope::testing {

/// An HTTPS client connection that verifies the gateway's certificate against `ca_file`. Each instance owns
/// its io_context, and every wait has a deadline, as HttpClient's. One thread uses it.
class TlsClient {
public:
    explicit TlsClient(const std::string& ca_file);
    ~TlsClient();
    TlsClient(const TlsClient&) = delete;
    TlsClient& operator=(const TlsClient&) = delete;

    /// TCP connect and TLS handshake. `receive_buffer` (bytes), when set, bounds what the kernel takes in for
    /// the client before it reads, so that the gateway's writes block on a client that does not read.
    bool connect(std::uint16_t port, int receive_buffer = 0);

    bool send(std::string_view bytes);

    std::optional<Response> read(milliseconds timeout = kWait);

    std::optional<Response> request(std::string_view raw);

    /// True when the server ends the connection (TLS or TCP) within the timeout without sending a response.
    bool wait_closed(milliseconds timeout);

    /// The TCP socket's descriptor, for socket options.
    int native_handle();
    const error_code& error() const { return error_; }

private:
    struct Connection;
    std::unique_ptr<Connection> c_;
    error_code error_;
};

} // namespace fleetscope::testing
