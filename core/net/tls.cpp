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
    // Most connections are idle most of the time: let OpenSSL free its record buffers between records.
    SSL_CTX_set_mode(ctx->native_handle(), SSL_MODE_RELEASE_BUFFERS);

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
