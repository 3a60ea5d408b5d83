// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <memory>
#include <string>

namespace boost::asio::ssl {
class context;
}

namespace fleetscope::net {

/// The server's TLS context, built from the tls-cert and tls-key settings: TLS 1.2 and newer, the key checked
/// against the certificate, OpenSSL's buffers released while a connection is idle. Built by the gateway's
/// controlling thread at start; every worker then only creates connections from it, which OpenSSL allows
/// concurrently. Throws std::runtime_error naming the file and OpenSSL's reason when a file cannot be used.
std::unique_ptr<boost::asio::ssl::context> make_tls_context(const std::string& cert_path,
                                                            const std::string& key_path);

} // namespace fleetscope::net
