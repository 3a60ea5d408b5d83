// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <memory>
#include <string>

namespace boost::asio::ssl {
class context;
}

namespace fleetscope::net {

/// The server's TLS context, built from the tls-cert and tls-key settings: TLS 1.2 and newer, the key checked
/// against the certificate, no renegotiation, no server-side session cache (resumption by session tickets,
/// one per TLS 1.3 handshake). Each connection's TlsStream sets what it needs of its own session. Built by
/// the gateway's controlling thread at start; every worker then only creates sessions from it, which OpenSSL
/// allows concurrently. Throws std::runtime_error naming the file and OpenSSL's reason when a file cannot be
/// used.
std::unique_ptr<boost::asio::ssl::context> make_tls_context(const std::string& cert_path,
                                                            const std::string& key_path);

} // namespace fleetscope::net
