// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// HTTP/1.1 on one connection's stream, as its fiber reads requests and writes responses: the request loop of
// docs/architecture.md ("A request on the wire"). Templated on the stream so that plain TCP pays nothing for
// TLS; the steps that do not touch the stream are compiled once, in wire.cpp.

#include "core/metrics/registry.hpp"
#include "core/net/content_coding.hpp"
#include "core/net/handler.hpp"
#include "core/net/message.hpp"
#include "core/net/wire_state.hpp"
#include "core/runtime/yield.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/beast/core/buffers_suffix.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/read_size.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fleetscope::net {

/// Why a request is refused before its handler sees it; refusal_response() is its answer.
struct Refusal {
    bhttp::status status;
    std::string message;        // what is wrong, and the limit or the expected form
    bool closes = true;         // the body is unread or the stream out of step: the connection ends
    bool lists_codings = false; // an unsupported content coding: the answer says which are (Accept-Encoding)
};

/// What the checks of a request header found that the rest of its exchange needs.
struct Framing {
    Coding coding = Coding::identity;
    bool close_after = false;      // RFC 9112 6.1: HTTP/1.0 with Transfer-Encoding
    std::size_t header_fields = 0; // chunked: the fields of the header section; those after are trailers
};

/// What read_request found on the connection.
struct Incoming {
    enum class Kind : std::uint8_t { request, refusal, closed };
    Kind kind = Kind::closed;
    std::optional<Response> refusal; // kind refusal: the answer, which says whether the connection carries on
};

/// What one request came to.
struct Served {
    unsigned status = 0; // the final status answered; 0 when the connection ended without one
    bool again = false;  // the connection may carry another request
};

// The steps of an exchange that do not touch the stream (wire.cpp), in the order they run.

/// RFC 9112 and 9110 on a request header, before its handler: one valid Host (3.2), an origin-form target
/// (absolute-form rewritten to it, 3.2.2; https only with TLS, RFC 9110 7.4), Transfer-Encoding exactly
/// "chunked" (6.3). Records in `framing` what the response needs.
std::optional<Refusal> check_framing(Request& header, bool secure, Framing& framing);
/// Content-Encoding: none, gzip or deflate, else 415 (RFC 9110 8.4, 15.5.16).
std::optional<Refusal> check_coding(const Request& header, Framing& framing);
/// 413 when the announced Content-Length exceeds max-body-bytes: the one place a too large body is refused
/// before any of it is read.
std::optional<Refusal> check_length(const RequestParser& parser, const Settings& settings);
/// Whether `bytes`, searched from `from` on (less the two bytes a blank line may straddle), hold the blank
/// line that ends a header: CRLF CRLF, or one with a bare LF, which the parser will refuse.
bool header_ends(std::string_view bytes, std::size_t from);
/// Whether a 100 (Continue) is owed before the body: an HTTP/1.1 Expect: 100-continue (RFC 9110 10.1.1).
bool expects_continue(const Request& header);
/// RFC 9110 6.5.1: trailer fields stay out of the header section. Removes the fields after the first
/// `header_fields`.
void drop_trailer_fields(Request& request, std::size_t header_fields);
/// Decodes the body in place (framing.coding), within `limit` bytes of decoded content.
std::optional<Refusal> decode_body(Request& request, const Framing& framing, std::size_t limit);
/// The answer to a read that failed, or nothing when the connection just ends (the peer left, the server
/// stops). `expired` is the phase whose deadline ended the read, if one did; `unparsed` the bytes read and
/// not yet parsed.
std::optional<Refusal> read_failure(const boost::system::error_code& ec, Phase expired,
                                    const RequestParser& parser, std::string_view unparsed,
                                    const Settings& settings);
/// A refusal as the response that carries it: the JSON error, Connection: close when it ends the connection.
Response refusal_response(const Refusal& refusal, const Request& header);
/// The fields the connection owes every response (RFC 9110 6.2, 6.6.1, 8.6; RFC 9112 6.1, 9.6): version
/// HTTP/1.1, Date, Connection, no Content-Length or Transfer-Encoding in 1xx, 204 and 304. Returns whether
/// the connection carries on after it.
bool finish_response(Response& response, const Request& request, bool must_close);

/// One connection's requests and responses on `Stream`: a plain TCP socket or a TLS stream over one. Lives
/// on the connection fiber's stack, with the read buffer, so a connection without a fiber holds neither.
/// Every read and write runs under a deadline of its phase and checks it before each single operation: a
/// deadline that passes while an operation's completion is queued cancels nothing, and a composed Beast read
/// or write would then go on without any deadline, for as long as a slow peer keeps going.
template <class Stream>
class Wire {
public:
    Wire(Stream& stream, WireState& state, const WireContext& context, bool secure)
        : stream_(stream)
        , state_(state)
        , ctx_(context)
        , secure_(secure)
    {}
    Wire(const Wire&) = delete;
    Wire& operator=(const Wire&) = delete;

    /// Bytes read and not yet parsed: pipelined requests.
    std::size_t buffered() const { return buffer_.size(); }

    /// Reads the next request into `parser`, header and body, as RFC 9112 frames it and within the limits,
    /// asking `handler` whether the body may be read. The request is then `parser.get()`, its body decoded.
    Incoming read_request(RequestParser& parser, Handler& handler, Session& session);

    /// Writes `reply` to `request` (or to the refused header), its body streamed when it has one, none to
    /// HEAD.
    Served respond(const Request& request, Reply& reply);

private:
    class ChunkWriter;

    bool deadline_passed(boost::system::error_code& ec) const
    {
        if (state_.expired == Phase::none)
            return false;
        ec = boost::asio::error::operation_aborted;
        return true;
    }

    Incoming refuse(const Refusal& refusal, const Request& header)
    {
        return Incoming{Incoming::Kind::refusal, refusal_response(refusal, header)};
    }

    Incoming failed(const boost::system::error_code& ec, Phase expired, const RequestParser& parser)
    {
        const std::string_view unparsed(static_cast<const char*>(buffer_.data().data()), buffer_.size());
        const auto refusal = read_failure(ec, expired, parser, unparsed, ctx_.settings);
        if (!refusal)
            return {};
        return refuse(*refusal, parser.get());
    }

    void read_header(RequestParser& parser, boost::system::error_code& ec);
    void read_body(RequestParser& parser, boost::system::error_code& ec);
    template <class Buffers>
    void write_buffers(const Buffers& buffers, boost::system::error_code& ec);
    void write_message(Response& response, bool header_only, boost::system::error_code& ec);
    bool stream_body(BodyStream& body, bool chunked);

    Stream& stream_;
    WireState& state_;
    const WireContext& ctx_;
    bool secure_;
    boost::beast::flat_buffer buffer_;
    Framing framing_;
    Clock::time_point received_{};
};

/// Go's conn.serve loop body: read a request, hand it to the handler, write the answer.
template <class Stream>
Served serve_request(Wire<Stream>& wire, Handler& handler, Session& session)
{
    // Everything the request allocates comes from this arena, released when it is answered.
    RequestArena arena;
    RequestParser parser(std::piecewise_construct, std::make_tuple(arena.allocator()),
                         std::make_tuple(arena.allocator()));
    Incoming incoming = wire.read_request(parser, handler, session);
    if (incoming.kind == Incoming::Kind::closed)
        return {};
    Reply reply = incoming.kind == Incoming::Kind::refusal ? Reply(std::move(*incoming.refusal))
                                                           : handler.handle(parser.get(), session);
    return wire.respond(parser.get(), reply);
}

// ---------------------------------------------------------------------------------------------------------------

template <class Stream>
Incoming Wire<Stream>::read_request(RequestParser& parser, Handler& handler, Session& session)
{
    const Settings& s = ctx_.settings;
    framing_ = {};
    boost::system::error_code ec;
    {
        // The header deadline runs from the first byte: a slowloris client is cut off after header-timeout.
        DeadlineScope deadline(ctx_.deadlines, state_, Phase::header);
        parser.header_limit(static_cast<std::uint32_t>(s.max_header_bytes));
        // The body is bounded once the header is accepted: an announced Content-Length above max-body-bytes
        // is then answered 413 with the limit (check_length), not as a parse error.
        parser.body_limit(boost::none);
        read_header(parser, ec);
        if (ec)
            return failed(ec, deadline.passed() ? Phase::header : Phase::none, parser);
    }
    state_.busy = true;
    ctx_.metrics.requests.add();
    received_ = Clock::now();

    Request& header = parser.get();
    if (auto refusal = check_framing(header, secure_, framing_))
        return refuse(*refusal, header);
    if (auto refusal = handler.check_header(header, session)) {
        // The body was not read, so it would be taken for the next request.
        if (!parser.is_done())
            refusal->keep_alive(false);
        return Incoming{Incoming::Kind::refusal, std::move(refusal)};
    }
    if (auto refusal = check_coding(header, framing_))
        return refuse(*refusal, header);
    if (!parser.is_done()) {
        if (auto refusal = check_length(parser, s))
            return refuse(*refusal, header);
        parser.body_limit(s.max_body_bytes); // bounds chunked bodies as they arrive
        if (expects_continue(header)) {
            // curl and many HTTP libraries hold a larger body back until told to go on.
            static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
            DeadlineScope deadline(ctx_.deadlines, state_, Phase::write);
            write_buffers(boost::asio::buffer(kContinue), ec);
            if (ec)
                return {};
        }
        if (parser.chunked())
            framing_.header_fields = static_cast<std::size_t>(std::distance(header.begin(), header.end()));
        DeadlineScope deadline(ctx_.deadlines, state_, Phase::body);
        read_body(parser, ec);
        if (ec)
            return failed(ec, deadline.passed() ? Phase::body : Phase::none, parser);
        if (parser.chunked())
            drop_trailer_fields(header, framing_.header_fields);
    }
    if (framing_.coding != Coding::identity)
        if (auto refusal = decode_body(header, framing_, s.max_body_bytes))
            return refuse(*refusal, header);
    return Incoming{Incoming::Kind::request, std::nullopt};
}

template <class Stream>
Served Wire<Stream>::respond(const Request& request, Reply& reply)
{
    Response& res = reply.response;
    const bool head = request.method() == bhttp::verb::head;
    const bool streamed = reply.stream != nullptr && !head;
    // A streamed body has no length: chunked to HTTP/1.1, delimited by the close to HTTP/1.0 (RFC 9112 6.1
    // forbids Transfer-Encoding in a response to HTTP/1.0).
    const bool chunked = streamed && request.version() >= 11;
    if (streamed) {
        res.erase(bhttp::field::content_length);
        res.chunked(chunked);
    }
    const bool keep =
        finish_response(res, request, framing_.close_after || ctx_.stopping || (streamed && !chunked));
    const unsigned status = res.result_int();
    ctx_.metrics.count_response(status);
    boost::system::error_code ec;
    {
        DeadlineScope deadline(ctx_.deadlines, state_, Phase::write);
        write_message(res, head || streamed, ec);
    }
    const bool sent = !ec && (!streamed || stream_body(*reply.stream, chunked));
    if (status == 204)
        ctx_.metrics.ack_latency.record(Clock::now() - received_);
    state_.busy = false;
    return Served{status, sent && keep};
}

/// Reads a request header of at most max-header-bytes into `parser`, which parses it in one put() once it is
/// all there (its blank line arrived), once max-header-bytes are buffered, or once the peer closed. Beast
/// 1.81's parser fed a header in pieces differs from one fed it whole: it applies header_limit only to the
/// bytes not yet parsed in one put(), and against the bytes after the request line, so a header in pieces, or
/// a long request line, could exceed the limit; and after a put that needed more it parses nothing until the
/// blank line arrives, so a malformed header in pieces could end with another error than the same bytes at
/// once. Put once, max-header-bytes bounds the whole request line and fields, and the answer does not depend
/// on how the bytes arrived. Bytes that cannot begin a request (a TLS handshake on a plain port, garbage) are
/// refused as soon as the first read brings them: a scratch parser judges that read, and only an error it
/// finds counts, since the parser finds the first error in the same place however much follows.
template <class Stream>
void Wire<Stream>::read_header(RequestParser& parser, boost::system::error_code& ec)
{
    namespace beast = boost::beast;
    const std::size_t limit = ctx_.settings.max_header_bytes;
    std::size_t searched = 0; // leading bytes of the buffer known to hold no blank line
    std::size_t used = 0;     // bytes the parser consumed
    bool judged = false;      // the first read's bytes were judged
    const auto put = [&] {
        parser.header_limit(static_cast<std::uint32_t>(limit - used));
        const std::size_t n = parser.put(buffer_.data(), ec);
        buffer_.consume(n);
        used += n;
        searched = 0;
        if (ec == bhttp::error::need_more && used + buffer_.size() >= limit)
            ec = bhttp::error::header_limit;
    };
    for (;;) {
        if (deadline_passed(ec))
            return;
        const std::string_view bytes(static_cast<const char*>(buffer_.data().data()), buffer_.size());
        if (header_ends(bytes, searched) || used + bytes.size() >= limit) {
            put();
            if (parser.is_header_done() || ec != bhttp::error::need_more)
                return;
        } else if (!judged && !bytes.empty()) {
            judged = true;
            const Allocator alloc = parser.get().get_allocator();
            RequestParser scratch(std::piecewise_construct, std::make_tuple(alloc), std::make_tuple(alloc));
            scratch.header_limit(static_cast<std::uint32_t>(limit));
            scratch.put(buffer_.data(), ec);
            if (ec && ec != bhttp::error::need_more)
                return;
            searched = bytes.size();
        } else {
            searched = bytes.size();
        }
        ec = {};
        const std::size_t got =
            stream_.async_read_some(buffer_.prepare(beast::read_size(buffer_, 65536)), runtime::yield[ec]);
        buffer_.commit(got);
        if (ec == boost::asio::error::eof) {
            if (!parser.got_some() && buffer_.size() == 0) {
                ec = bhttp::error::end_of_stream;
                return;
            }
            // What arrived is all there will be: the parser judges it.
            put();
            if (!ec || ec == bhttp::error::need_more)
                ec = bhttp::error::partial_message;
            return;
        }
        if (ec)
            return;
    }
}

/// Reads the rest of a request's body into `parser`, as http::async_read does, one read at a time.
template <class Stream>
void Wire<Stream>::read_body(RequestParser& parser, boost::system::error_code& ec)
{
    parser.eager(true);
    while (!parser.is_done()) {
        if (deadline_passed(ec))
            return;
        bhttp::async_read_some(stream_, buffer_, parser, runtime::yield[ec]);
        if (ec)
            return;
    }
}

template <class Stream>
template <class Buffers>
void Wire<Stream>::write_buffers(const Buffers& buffers, boost::system::error_code& ec)
{
    boost::beast::buffers_suffix<Buffers> rest(buffers);
    while (boost::beast::buffer_bytes(rest) != 0) {
        if (deadline_passed(ec))
            return;
        const std::size_t n = stream_.async_write_some(rest, runtime::yield[ec]);
        if (ec)
            return;
        rest.consume(n);
    }
}

/// Writes `response`: all of it, or its header alone (HEAD, or a body that streams after it).
template <class Stream>
void Wire<Stream>::write_message(Response& response, bool header_only, boost::system::error_code& ec)
{
    bhttp::response_serializer<Body, Fields> serializer(response);
    serializer.split(header_only);
    while (!(header_only ? serializer.is_header_done() : serializer.is_done())) {
        if (deadline_passed(ec))
            return;
        bhttp::async_write_some(stream_, serializer, runtime::yield[ec]);
        if (ec)
            return;
    }
}

/// The connection's side of a streamed body: each piece under its own write deadline.
template <class Stream>
class Wire<Stream>::ChunkWriter final : public StreamWriter {
public:
    ChunkWriter(Wire& wire, bool chunked)
        : wire_(wire)
        , chunked_(chunked)
    {}

    bool write(std::string_view data) override
    {
        if (!open())
            return false;
        if (data.empty())
            return true; // an empty chunk would end the body
        DeadlineScope deadline(wire_.ctx_.deadlines, wire_.state_, Phase::write);
        boost::system::error_code ec;
        if (chunked_)
            wire_.write_buffers(bhttp::make_chunk(boost::asio::buffer(data)), ec);
        else
            wire_.write_buffers(boost::asio::buffer(data), ec);
        failed_ = failed_ || ec;
        return !failed_;
    }

    bool open() const override { return !failed_ && !wire_.ctx_.stopping; }

    bool failed() const { return failed_; }

private:
    Wire& wire_;
    bool chunked_;
    bool failed_ = false;
};

template <class Stream>
bool Wire<Stream>::stream_body(BodyStream& body, bool chunked)
{
    ChunkWriter out(*this, chunked);
    state_.streaming = &body;
    body.run(out);
    state_.streaming = nullptr;
    if (out.failed())
        return false;
    if (!chunked)
        return true;
    DeadlineScope deadline(ctx_.deadlines, state_, Phase::write);
    boost::system::error_code ec;
    write_buffers(bhttp::make_chunk_last(), ec);
    return !ec;
}

} // namespace fleetscope::net
