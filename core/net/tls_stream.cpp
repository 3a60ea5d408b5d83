// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/net/tls_stream.hpp"

#include <boost/asio/ssl/error.hpp>

#include <array>
#include <cerrno>
#include <openssl/err.h>
#include <openssl/ssl.h>

namespace fleetscope::net {

namespace asio = boost::asio;
using boost::system::error_code;

TlsStream::TlsStream(Socket& socket, SSL_CTX* ctx, AbortCheck aborted, const void* context)
    : socket_(socket)
    , ssl_(SSL_new(ctx))
    , aborted_(aborted)
    , context_(context)
{
    if (ssl_ == nullptr)
        throw boost::system::system_error(static_cast<int>(ERR_get_error()), asio::error::get_ssl_category(),
                                          "SSL_new");
    // OpenSSL's socket BIO calls recv and send itself: on a blocking descriptor they would stop the worker's
    // thread. Asio makes a descriptor non-blocking only when its first operation starts.
    error_code ec;
    socket_.non_blocking(true, ec);
    // Release: no record buffer while no record is in flight. Partial writes: a write returns once a record
    // went out, as write_some should. Moving buffer: a retried write gathers its bytes again, perhaps
    // elsewhere (gather_space). Read-ahead: one recv per record instead of one for its header and one for the
    // rest; what it reads beyond the record stays visible through holds_input().
    SSL_set_mode(ssl_, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                           SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_set_read_ahead(ssl_, 1);
    if (ec || SSL_set_fd(ssl_, static_cast<int>(socket_.native_handle())) != 1) {
        SSL_free(ssl_);
        throw boost::system::system_error(ec ? ec : error_code(asio::error::bad_descriptor), "SSL_set_fd");
    }
    SSL_set_accept_state(ssl_);
}

TlsStream::~TlsStream()
{
    SSL_free(ssl_); // its socket BIO does not close the descriptor, which the socket owns
}

bool TlsStream::holds_input() const
{
    return SSL_has_pending(ssl_) == 1;
}

void TlsStream::async_handshake(runtime::Yield token)
{
    on_fiber([this] { return handshake_step(); }, token);
    handshaken_ = SSL_is_init_finished(ssl_) == 1;
}

TlsStream::Step TlsStream::handshake_step()
{
    // OpenSSL's error queue belongs to the thread, which other fibers share: each call starts it empty.
    ERR_clear_error();
    errno = 0; // a stale value must not pass for the reason of a failed call
    const int ret = SSL_do_handshake(ssl_);
    return result(ret, 0, errno);
}

TlsStream::Step TlsStream::read_step(asio::mutable_buffer buffer)
{
    ERR_clear_error();
    std::size_t n = 0;
    errno = 0;
    const int ret = SSL_read_ex(ssl_, buffer.data(), buffer.size(), &n);
    return result(ret, n, errno);
}

TlsStream::Step TlsStream::write_step(asio::const_buffer buffer)
{
    ERR_clear_error();
    std::size_t n = 0;
    errno = 0;
    const int ret = SSL_write_ex(ssl_, buffer.data(), buffer.size(), &n);
    const Step s = result(ret, n, errno);
    // Until it succeeds, OpenSSL holds an encrypted record of this write and must be asked again with the
    // same bytes.
    write_pending_ = s.want != Want::done;
    return s;
}

TlsStream::Step TlsStream::result(int ret, std::size_t bytes, int saved_errno)
{
    if (ret == 1)
        return {Want::done, {}, bytes};
    switch (SSL_get_error(ssl_, ret)) {
    case SSL_ERROR_WANT_READ:
        return {Want::read, {}, 0};
    case SSL_ERROR_WANT_WRITE:
        return {Want::write, {}, 0};
    case SSL_ERROR_ZERO_RETURN: // the peer's close_notify
        return {Want::done, asio::error::eof, 0};
    case SSL_ERROR_SYSCALL: {
        failed_ = true;
        ERR_clear_error();
        if (saved_errno != 0)
            return {Want::done, error_code(saved_errno, asio::error::get_system_category())};
        return {Want::done, asio::ssl::error::stream_truncated};
    }
    default: {
        failed_ = true;
        const unsigned long e = ERR_get_error();
        ERR_clear_error();
        // A TCP close without close_notify: named as Asio's stream names it.
        if (ERR_GET_LIB(e) == ERR_LIB_SSL && ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
            return {Want::done, asio::ssl::error::stream_truncated};
        return {Want::done, error_code(static_cast<int>(e), asio::error::get_ssl_category())};
    }
    }
}

void TlsStream::close_notify() noexcept
{
    if (!handshaken_ || failed_ || write_pending_)
        return;
    ERR_clear_error();
    // One attempt on the non-blocking socket: the connection closes next, whether the alert went out or not.
    SSL_shutdown(ssl_);
    ERR_clear_error();
}

std::span<std::byte> TlsStream::gather_space()
{
    thread_local std::array<std::byte, kGatherBytes> space;
    return space;
}

} // namespace fleetscope::net
