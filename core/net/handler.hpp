// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "core/net/message.hpp"

#include <boost/asio/ip/address.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace fleetscope::net {

/// What a connection keeps for its handler between requests. Owned by the connection and touched only on its
/// worker's thread, from the handler calls of that connection.
struct Session {
    std::string client;   // the handler's name for the peer (the device a connection posts for)
    bool loopback = true; // the handler counts the peer as local (Handler::on_open)
    bool secure = false;  // the connection speaks TLS
};

/// Writes the body of a streamed response (Reply::stream) piece by piece. Implemented by the connection;
/// lives on its fiber's stack while the stream runs.
class StreamWriter {
public:
    /// Sends `data` as the next piece of the body (one chunk to HTTP/1.1 clients), within write-timeout.
    /// False once the peer is gone, the write deadline passed or the server stops: the stream then returns.
    virtual bool write(std::string_view data) = 0;
    /// Whether writing can go on: false once a write failed or the server began to stop.
    virtual bool open() const = 0;

protected:
    ~StreamWriter() = default;
};

/// A response body produced over time, such as Server-Sent Events. Runs on the connection's fiber after the
/// response head is written; a graceful stop calls cancel() on the same thread while run() waits.
class BodyStream {
public:
    virtual ~BodyStream() = default;
    /// Writes the body through `out` until it is complete or a write fails. May park the fiber between
    /// writes (waiting for the next event); must return soon after cancel().
    virtual void run(StreamWriter& out) = 0;
    /// The server is stopping: wake run() if it waits, so that it returns. Worker thread of the connection.
    virtual void cancel() noexcept {}
};

/// A handler's answer: a complete response, or a response head (`response`, its body empty) whose body
/// `stream` writes over time.
struct Reply {
    Reply(Response complete) // NOLINT(google-explicit-constructor): a complete response is the usual reply
        : response(std::move(complete))
    {}
    Reply(Response head, std::unique_ptr<BodyStream> body)
        : response(std::move(head))
        , stream(std::move(body))
    {}

    Response response;
    std::unique_ptr<BodyStream> stream;
};

/// What a connection serves requests with: the connection reads and frames each request (RFC 9112, limits,
/// deadlines, content codings) and the handler decides what it means. One handler serves every connection
/// of every worker; each call runs on the fiber of the connection it is for, which it may park.
class Handler {
public:
    /// A connection from `peer` opened; its requests follow.
    virtual void on_open(Session& session, const boost::asio::ip::address& peer) = 0;

    /// The header is read and its framing is valid; no body byte is buffered yet. A response refuses the
    /// request here (route, method, media type, credentials, preconditions); a refused body is never read.
    virtual std::optional<Response> check_header(const Request& header, Session& session) = 0;

    /// Answers a complete request, its body decoded (Content-Encoding) and within max-body-bytes.
    virtual Reply handle(Request& request, Session& session) = 0;

    /// The connection closed.
    virtual void on_close(Session& session) noexcept = 0;

protected:
    ~Handler() = default;
};

} // namespace fleetscope::net
