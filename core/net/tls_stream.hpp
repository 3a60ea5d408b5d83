// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "core/runtime/yield.hpp"

#include <boost/asio/associated_allocator.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>
#include <utility>

// OpenSSL's handle types, as <openssl/types.h> declares them.
struct ssl_st;
struct ssl_ctx_st;

namespace fleetscope::net {

/// A socket bound to its worker's io_context executor type (as connection.hpp declares it).
using Socket = boost::asio::basic_stream_socket<boost::asio::ip::tcp, boost::asio::io_context::executor_type>;

/// The server side of one TLS connection, driven by OpenSSL straight over the connection's non-blocking
/// socket: SSL_set_fd, SSL_do_handshake, SSL_read_ex and SSL_write_ex, and on WANT_READ or WANT_WRITE a
/// readiness wait on the socket (docs/architecture.md, "HTTPS"). It holds no buffer of its own, and OpenSSL
/// releases its record buffers whenever no record is in flight (SSL_MODE_RELEASE_BUFFERS), so a session
/// between requests costs OpenSSL's per-connection state alone. Asio's ssl::stream would keep two 17 KB
/// buffers and a BIO pair per connection for as long as it lives.
///
/// Reads and writes take any Asio completion token. From a connection fiber with runtime::yield they loop on
/// the fiber itself: no operation object, no post when OpenSSL can go on at once. Other handlers (Beast's
/// composed reads and writes pass their own) get an operation whose steps run as the waits complete.
///
/// OpenSSL reads ahead: one recv takes whatever arrived, and bytes of a next record may stay inside OpenSSL,
/// where a readiness wait cannot see them. holds_input() says so; a connection must then read on, never wait
/// for readability or park.
///
/// Lives on its connection's worker thread, like the socket it borrows, which must outlive it. Not movable:
/// pending operations point at it.
class TlsStream {
public:
    using executor_type = Socket::executor_type;

    /// Asked before every readiness wait inside one handshake, read or write; true ends the operation with
    /// operation_aborted. It carries the connection's deadline into the operation: a deadline that passes
    /// while a wait's completion is queued cancels nothing, and a record trickling in would otherwise be
    /// waited for again, without any deadline.
    using AbortCheck = bool (*)(const void* context) noexcept;

    /// Creates the session from `ctx` (Asio's ssl::context::native_handle()) and puts the socket in
    /// non-blocking mode, which OpenSSL's reads and writes need. Throws boost::system::system_error when
    /// OpenSSL cannot allocate it.
    TlsStream(Socket& socket, ssl_ctx_st* ctx, AbortCheck aborted = nullptr, const void* context = nullptr);
    ~TlsStream();
    TlsStream(const TlsStream&) = delete;
    TlsStream& operator=(const TlsStream&) = delete;

    executor_type get_executor() { return socket_.get_executor(); }
    Socket& next_layer() { return socket_; }
    ssl_st* native_handle() { return ssl_; }

    /// The server handshake, parking the calling fiber while it waits. A peer that sends a plain HTTP
    /// request instead fails it with OpenSSL's SSL_R_HTTP_REQUEST in Asio's ssl error category.
    void async_handshake(runtime::Yield token);
    bool handshaken() const { return handshaken_; }

    /// Whether OpenSSL holds bytes of the peer's: a decrypted record not yet read, or bytes read ahead.
    bool holds_input() const;

    /// Reads some application data into the first non-empty buffer. The end of the peer's data is
    /// asio::error::eof after its close_notify, asio::ssl::error::stream_truncated without one; other TLS
    /// failures are OpenSSL's error in Asio's ssl category, as Asio's stream reports them.
    template <class MutableBufferSequence>
    std::size_t async_read_some(const MutableBufferSequence& buffers, runtime::Yield token)
    {
        return on_fiber(ReadStep<MutableBufferSequence>{this, buffers}, token);
    }
    template <class MutableBufferSequence, class Token>
    requires(!std::is_same_v<std::decay_t<Token>, runtime::Yield>) auto async_read_some(
        const MutableBufferSequence& buffers, Token&& token)
    {
        return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
            [this](auto handler, const MutableBufferSequence& b) {
                start(ReadStep<MutableBufferSequence>{this, b}, std::move(handler));
            },
            token, buffers);
    }

    /// Writes some of `buffers`. Several small buffers (a response's header and body) go out as one record
    /// and one send: up to a record's worth is gathered first.
    template <class ConstBufferSequence>
    std::size_t async_write_some(const ConstBufferSequence& buffers, runtime::Yield token)
    {
        return on_fiber(WriteStep<ConstBufferSequence>{this, buffers}, token);
    }
    template <class ConstBufferSequence, class Token>
    requires(!std::is_same_v<std::decay_t<Token>, runtime::Yield>) auto async_write_some(
        const ConstBufferSequence& buffers, Token&& token)
    {
        return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
            [this](auto handler, const ConstBufferSequence& b) {
                start(WriteStep<ConstBufferSequence>{this, b}, std::move(handler));
            },
            token, buffers);
    }

    /// Sends close_notify if the session can still say it, without waiting: called just before the socket
    /// closes. Nothing after a failed or interrupted operation, where OpenSSL forbids it.
    void close_notify() noexcept;

    /// The most plaintext one write gathers from several buffers: a full record.
    static constexpr std::size_t kGatherBytes = 16 * 1024;

private:
    /// What OpenSSL made of one call.
    enum class Want : std::uint8_t { done, read, write };
    struct Step {
        Want want = Want::done;
        boost::system::error_code ec; // with done
        std::size_t bytes = 0;        // with done
    };

    Step handshake_step();
    Step read_step(boost::asio::mutable_buffer buffer);
    Step write_step(boost::asio::const_buffer buffer);
    Step result(int ret, std::size_t bytes, int saved_errno);
    bool aborted() const { return aborted_ != nullptr && aborted_(context_); }
    /// Where several buffers are gathered for one write. One per thread: a write that waits gathers its bytes
    /// again before OpenSSL retries it, so another fiber may use it meanwhile.
    static std::span<std::byte> gather_space();

    template <class Buffers>
    struct ReadStep {
        TlsStream* stream;
        Buffers buffers;
        Step operator()() const
        {
            auto it = boost::asio::buffer_sequence_begin(buffers);
            const auto end = boost::asio::buffer_sequence_end(buffers);
            for (; it != end; ++it)
                if (boost::asio::mutable_buffer b(*it); b.size() != 0)
                    return stream->read_step(b);
            return {};
        }
    };

    template <class Buffers>
    struct WriteStep {
        TlsStream* stream;
        Buffers buffers;
        Step operator()() const
        {
            auto it = boost::asio::buffer_sequence_begin(buffers);
            const auto end = boost::asio::buffer_sequence_end(buffers);
            while (it != end && boost::asio::const_buffer(*it).size() == 0)
                ++it;
            if (it == end)
                return {};
            const boost::asio::const_buffer first(*it);
            const std::size_t want = std::min(boost::asio::buffer_size(buffers), kGatherBytes);
            if (first.size() >= want)
                return stream->write_step(first);
            const std::span<std::byte> space = gather_space();
            const std::size_t n = boost::asio::buffer_copy(boost::asio::buffer(space.data(), want), buffers);
            return stream->write_step(boost::asio::const_buffer(space.data(), n));
        }
    };

    /// The fiber path: step, and park on the socket while OpenSSL waits for it.
    template <class Stepper>
    std::size_t on_fiber(const Stepper& step, runtime::Yield token)
    {
        Step s = step();
        while (s.want != Want::done) {
            if (aborted()) {
                s = {Want::done, boost::asio::error::operation_aborted, 0};
                break;
            }
            boost::system::error_code ec;
            socket_.async_wait(s.want == Want::read ? Socket::wait_read : Socket::wait_write,
                               runtime::yield[ec]);
            s = ec ? Step{Want::done, ec, 0} : step();
        }
        if (auto* out = token.error_out())
            *out = s.ec;
        else if (s.ec) {
            runtime::prepare_throw_on_fiber();
            throw boost::system::system_error(s.ec);
        }
        return s.bytes;
    }

    /// The operation behind any other completion token: each step runs as a wait completes.
    template <class Stepper, class Handler>
    class Op {
    public:
        using executor_type = boost::asio::associated_executor_t<Handler, TlsStream::executor_type>;
        using allocator_type = boost::asio::associated_allocator_t<Handler>;

        Op(TlsStream& stream, Stepper step, Handler handler)
            : stream_(&stream)
            , step_(std::move(step))
            , handler_(std::move(handler))
        {}

        executor_type get_executor() const noexcept
        {
            return boost::asio::get_associated_executor(handler_, stream_->socket_.get_executor());
        }
        allocator_type get_allocator() const noexcept
        {
            return boost::asio::get_associated_allocator(handler_);
        }

        /// Inside the initiating function: a result known at once is posted, never handed over from here.
        void start()
        {
            const Step s = step_();
            if (s.want == Want::done || stream_->aborted()) {
                const auto ec = s.want == Want::done ? s.ec : boost::asio::error::operation_aborted;
                const std::size_t bytes = s.want == Want::done ? s.bytes : 0;
                const auto ex = get_executor();
                boost::asio::post(ex, boost::beast::bind_front_handler(std::move(handler_), ec, bytes));
                return;
            }
            wait(s.want);
        }

        /// A wait completed.
        void operator()(boost::system::error_code ec)
        {
            if (ec)
                return std::move(handler_)(ec, std::size_t{0});
            const Step s = step_();
            if (s.want == Want::done)
                return std::move(handler_)(s.ec, s.bytes);
            if (stream_->aborted())
                return std::move(handler_)(boost::system::error_code(boost::asio::error::operation_aborted),
                                           std::size_t{0});
            wait(s.want);
        }

    private:
        void wait(Want want)
        {
            Socket& socket = stream_->socket_;
            socket.async_wait(want == Want::read ? Socket::wait_read : Socket::wait_write, std::move(*this));
        }

        TlsStream* stream_;
        Stepper step_;
        Handler handler_;
    };

    template <class Stepper, class Handler>
    void start(Stepper step, Handler handler)
    {
        Op<Stepper, Handler>(*this, std::move(step), std::move(handler)).start();
    }

    Socket& socket_;
    ssl_st* ssl_;
    AbortCheck aborted_;
    const void* context_;
    bool handshaken_ = false;
    bool failed_ = false;        // OpenSSL reported a fatal error: no close_notify
    bool write_pending_ = false; // a write waits to be retried with the same bytes: no close_notify
};

} // namespace fleetscope::net
