// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/net/tls.hpp"

#include <boost/asio/ssl/context.hpp>

#include <openssl/ssl.h>
#include <stdexcept>

namespace fleetscope::net {

namespace ssl = boost::asio::ssl;

namespace {

std::string openssl_reason(const boost::system::error_code& ec)
{
    std::string why = ec.message();
    if (why.empty() || why == "asio.ssl error")
        why = "OpenSSL error " + std::to_string(ec.value());
    return why;
}

} // namespace

std::unique_ptr<ssl::context> make_tls_context(const std::string& cert_path, const std::string& key_path)
{
    auto ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
    ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                     ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
    SSL_CTX* native = ctx->native_handle();
    // No renegotiation (TLS 1.2): a client asking for one is refused. OpenSSL 3 refuses client-initiated
    // renegotiation by default; this says so and refuses the server-initiated kind too.
    SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION);
    // No server-side session cache: it would keep every TLS 1.2 session for two hours, up to 20,480 of them,
    // whether its connection lives or not. Devices that reconnect resume with session tickets instead, which
    // keep the session on the client's side.
    SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_OFF);
    // One TLS 1.3 session ticket per handshake instead of two: a device reconnects over one connection at a
    // time, and every ticket costs the handshake a session copy and its encryption (about 5 % each here).
    SSL_CTX_set_num_tickets(native, 1);

    boost::system::error_code ec;
    ctx->use_certificate_chain_file(cert_path, ec);
    if (ec)
        throw std::runtime_error("tls-cert " + cert_path +
                                 ": cannot load a PEM certificate chain: " + openssl_reason(ec));
    // OpenSSL also checks here that the key is the certificate's.
    ctx->use_private_key_file(key_path, ssl::context::pem, ec);
    if (ec)
        throw std::runtime_error("tls-key " + key_path +
                                 ": cannot load a PEM private key: " + openssl_reason(ec));
    return ctx;
}

} // namespace fleetscope::net
