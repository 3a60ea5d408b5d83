// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/net/wire.hpp"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/rfc7230.hpp>
#include <boost/url/parse.hpp>

#include <algorithm>
#include <cstdio>
#include <ctime>

namespace fleetscope::net {

namespace {

using boost::beast::iequals;

/// Appended to Beast's name for a parse error, so the client learns the expected form too.
constexpr std::string_view kHttpForm =
    "; expected HTTP/1.1 as RFC 9112 defines it (CRLF line endings, one Content-Length of decimal digits or "
    "Transfer-Encoding: chunked)";

std::string quoted(std::string_view s)
{
    return "'" + std::string(s) + "'";
}

/// A Beast parser error: the peer sent something that is not valid HTTP/1.1.
bool is_parse_error(const boost::system::error_code& ec)
{
    return ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category();
}

/// Whether the request line that Beast refused with bad_version names a well-formed version ("HTTP/2.0"):
/// Beast refuses every version but 1.0 and 1.1 alike, and only a well-formed one is an unsupported version
/// rather than a malformed line. Beast reads the method and the target, then waits for eight bytes of
/// version before it judges them, so those eight bytes are in `unparsed` however the line arrived.
bool names_a_version(std::string_view unparsed)
{
    const auto method_end = unparsed.find(' ');
    const auto target_end =
        method_end == std::string_view::npos ? method_end : unparsed.find(' ', method_end + 1);
    if (target_end == std::string_view::npos || unparsed.size() < target_end + 9)
        return false;
    const std::string_view v = unparsed.substr(target_end + 1, 8);
    const auto digit = [](char c) { return c >= '0' && c <= '9'; };
    // HTTP/1.0 and HTTP/1.1 followed by a bad line ending are malformed lines, not other versions.
    return v.starts_with("HTTP/") && digit(v[5]) && v[6] == '.' && digit(v[7]) && v != "HTTP/1.0" &&
           v != "HTTP/1.1";
}

/// Whether `host` is a valid Host field value: RFC 3986's authority without userinfo (RFC 9112 3.2). Nearly
/// every value is a name or an IPv4 address of [A-Za-z0-9.-] with perhaps ":port", which a glance at its
/// characters proves valid (a subset of reg-name and port); any other goes to Boost.URL's authority grammar,
/// which costs a measurable share of a request.
bool valid_host(std::string_view host)
{
    const auto colon = host.find(':');
    const std::string_view name = host.substr(0, colon);
    const std::string_view port =
        colon == std::string_view::npos ? std::string_view{} : host.substr(colon + 1);
    const auto plain = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
               c == '-';
    };
    const auto digit = [](char c) { return c >= '0' && c <= '9'; };
    if (std::all_of(name.begin(), name.end(), plain) && std::all_of(port.begin(), port.end(), digit))
        return true;
    const auto authority = boost::urls::parse_authority(host);
    return authority && !authority->has_userinfo();
}

/// RFC 9112 3.2.2: an origin server accepts the absolute-form and reads the request as its origin-form.
std::optional<Refusal> to_origin_form(Request& header, bool secure)
{
    const std::string_view target = header.target();
    if (target.starts_with('/'))
        return std::nullopt;
    if (target == "*") {
        if (header.method() == bhttp::verb::options)
            return std::nullopt;
        return Refusal{bhttp::status::bad_request, "request target '*' is for OPTIONS only (RFC 9112 3.2.4)"};
    }
    const auto uri = boost::urls::parse_absolute_uri(target);
    const auto scheme = uri ? uri->scheme_id() : boost::urls::scheme::unknown;
    if (!uri || (scheme != boost::urls::scheme::http && scheme != boost::urls::scheme::https))
        return Refusal{bhttp::status::bad_request,
                       "malformed request target " + quoted(target) +
                           ": expected an absolute path (/v1/telemetry) or an http URI "
                           "(http://host/v1/telemetry)"};
    if (uri->encoded_host().empty())
        return Refusal{bhttp::status::bad_request,
                       "request target " + quoted(target) +
                           " names no host, which an http URI must (RFC 9110 4.2.1)"};
    if (uri->has_userinfo())
        return Refusal{bhttp::status::bad_request,
                       "request target " + quoted(target) +
                           " carries user information, which an http URI must not (RFC 9110 4.2.4)"};
    if (scheme == boost::urls::scheme::https && !secure)
        return Refusal{
            bhttp::status::misdirected_request,
            "an https URI asked for on a connection without TLS (RFC 9110 7.4): this port speaks plain "
            "HTTP"};
    std::string origin(uri->encoded_path());
    if (origin.empty())
        origin = "/";
    if (uri->has_query()) {
        origin += '?';
        origin += uri->encoded_query();
    }
    header.target(origin);
    return std::nullopt;
}

/// The current time as an HTTP-date (IMF-fixdate, RFC 9110 5.6.7), formatted once a second per thread.
std::string_view http_date()
{
    static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    thread_local std::time_t second = -1;
    thread_local char text[32];
    const std::time_t now = std::time(nullptr);
    if (now != second) {
        std::tm t{};
#ifdef _WIN32
        gmtime_s(&t, &now);
#else
        gmtime_r(&now, &t);
#endif
        std::snprintf(text, sizeof text, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[t.tm_wday], t.tm_mday,
                      kMonths[t.tm_mon], t.tm_year + 1900, t.tm_hour, t.tm_min, t.tm_sec);
        second = now;
    }
    return {text, 29};
}

} // namespace

std::optional<Refusal> check_framing(Request& header, bool secure, Framing& framing)
{
    // RFC 9112 3.2: exactly one Host field in HTTP/1.1, at most one in HTTP/1.0, with a valid value (an
    // empty one is valid: a target URI without authority).
    const auto hosts = header.count(bhttp::field::host);
    if (hosts == 0 && header.version() >= 11)
        return Refusal{bhttp::status::bad_request,
                       "missing Host field: every HTTP/1.1 request names its host (RFC 9112 3.2), as in "
                       "'Host: gateway.example:8080'"};
    if (hosts > 1)
        return Refusal{bhttp::status::bad_request,
                       "more than one Host field: send exactly one (RFC 9112 3.2)"};
    if (hosts == 1) {
        const std::string_view host = header[bhttp::field::host];
        if (!valid_host(host))
            return Refusal{bhttp::status::bad_request,
                           "invalid Host field " + quoted(host) + ": expected host[:port] (RFC 9112 3.2)"};
    }
    if (auto refusal = to_origin_form(header, secure))
        return refusal;

    // RFC 9112 6.3: a request whose Transfer-Encoding does not end in chunked has no knowable length, and the
    // gateway decodes no other transfer coding. Beast frames such a request as having no body (and "chunked,
    // chunked" likewise), so its body would be read as the next request: refuse it, which ends the
    // connection.
    bool any = false;
    bool only_chunked = true;
    std::size_t codings = 0;
    for_each_line(header, bhttp::field::transfer_encoding, [&](std::string_view value) {
        any = true;
        const bhttp::opt_token_list list(value);
        only_chunked = only_chunked && bhttp::validate_list(list);
        for (const auto& coding : list) {
            ++codings;
            only_chunked = only_chunked && iequals(coding, "chunked");
        }
    });
    if (any && (codings != 1 || !only_chunked))
        return Refusal{bhttp::status::bad_request, "unsupported Transfer-Encoding " +
                                                       quoted(header[bhttp::field::transfer_encoding]) +
                                                       ": expected exactly 'chunked', or a Content-Length"};
    // RFC 9112 6.1: HTTP/1.0 knows no Transfer-Encoding, so its framing is suspect: the connection closes
    // after the response.
    framing.close_after = any && header.version() < 11;
    return std::nullopt;
}

std::optional<Refusal> check_coding(const Request& header, Framing& framing)
{
    constexpr std::string_view kDecoded = "the gateway decodes gzip and deflate";
    std::optional<Refusal> refusal;
    const auto refuse = [&](std::string message) {
        if (!refusal)
            refusal = Refusal{bhttp::status::unsupported_media_type,
                              std::move(message) + ": " + std::string(kDecoded), true, true};
    };
    for_each_line(header, bhttp::field::content_encoding, [&](std::string_view value) {
        const bhttp::opt_token_list list(value);
        if (!bhttp::validate_list(list))
            return refuse("malformed Content-Encoding " + quoted(value));
        for (const auto& name : list) {
            Coding coding = Coding::identity;
            if (iequals(name, "gzip") || iequals(name, "x-gzip"))
                coding = Coding::gzip;
            else if (iequals(name, "deflate"))
                coding = Coding::deflate;
            else if (!iequals(name, "identity"))
                return refuse("unsupported Content-Encoding " + quoted(name));
            if (coding == Coding::identity)
                continue;
            if (framing.coding != Coding::identity)
                return refuse("more than one content coding in " + quoted(value) +
                              ", where one at most is read");
            framing.coding = coding;
        }
    });
    return refusal;
}

std::optional<Refusal> check_length(const RequestParser& parser, const Settings& settings)
{
    // Beast 1.81 compares body_limit with Content-Length only while parsing the header, when no limit was set
    // yet, so the announced length is checked here, for every route: a GET, or a length written as a list
    // ("5000000, 5000000"), must not get its body buffered either.
    const auto length = parser.content_length();
    if (!length || *length <= settings.max_body_bytes)
        return std::nullopt;
    return Refusal{bhttp::status::payload_too_large,
                   "body of " + std::to_string(*length) + " bytes is too large: at most " +
                       std::to_string(settings.max_body_bytes) + " bytes (max-body-bytes)"};
}

bool header_ends(std::string_view bytes, std::size_t from)
{
    for (auto lf = bytes.find('\n', from > 2 ? from - 2 : 0); lf != std::string_view::npos;
         lf = bytes.find('\n', lf + 1)) {
        const std::string_view next = bytes.substr(lf + 1, 2);
        if (next.starts_with('\n') || next == "\r\n")
            return true;
    }
    return false;
}

bool expects_continue(const Request& header)
{
    if (header.version() < 11) // RFC 9110 10.1.1: ignored in HTTP/1.0, and no 1xx is sent to it (15.2)
        return false;
    bool expects = false;
    for_each_line(header, bhttp::field::expect, [&](std::string_view value) {
        for (const auto& expectation : bhttp::token_list(value))
            expects = expects || iequals(expectation, "100-continue");
    });
    return expects;
}

void drop_trailer_fields(Request& request, std::size_t header_fields)
{
    auto it = request.begin();
    for (std::size_t i = 0; i < header_fields && it != request.end(); ++i)
        ++it;
    while (it != request.end())
        it = request.erase(it);
}

std::optional<Refusal> decode_body(Request& request, const Framing& framing, std::size_t limit)
{
    Body::value_type decoded(request.body().get_allocator());
    const Decoded result = decode_content(framing.coding, request.body(), decoded, limit);
    const std::string coding(coding_name(framing.coding));
    // The whole body was read, so the connection stays in step after either refusal.
    switch (result.status) {
    case Decoded::Status::too_large:
        return Refusal{bhttp::status::payload_too_large,
                       "body decodes to more than max-body-bytes (" + std::to_string(limit) +
                           " bytes) of content (Content-Encoding: " + coding + ")",
                       false};
    case Decoded::Status::corrupt:
        return Refusal{bhttp::status::bad_request,
                       "body is not valid " + coding + " data (Content-Encoding: " + coding +
                           "): " + result.detail,
                       false};
    case Decoded::Status::ok:
        break;
    }
    request.body() = std::move(decoded);
    request.erase(bhttp::field::content_encoding);
    request.content_length(request.body().size());
    return std::nullopt;
}

std::optional<Refusal> read_failure(const boost::system::error_code& ec, Phase expired,
                                    const RequestParser& parser, std::string_view unparsed,
                                    const Settings& settings)
{
    if (expired == Phase::header)
        return Refusal{bhttp::status::request_timeout, "request header not complete within header-timeout (" +
                                                           std::to_string(settings.header_timeout.count()) +
                                                           " ms)"};
    if (expired == Phase::body)
        return Refusal{bhttp::status::request_timeout, "request body not complete within body-timeout (" +
                                                           std::to_string(settings.body_timeout.count()) +
                                                           " ms)"};
    const std::string limit = std::to_string(settings.max_header_bytes);
    if (ec == bhttp::error::header_limit) {
        // Beast sets the target once the whole request line is parsed: without one, the line alone is too
        // long, and RFC 9112 3 names that 414.
        if (parser.get().target().empty())
            return Refusal{bhttp::status::uri_too_long, "request line exceeds max-header-bytes (" + limit +
                                                            " bytes): the request target is too long"};
        return Refusal{bhttp::status::request_header_fields_too_large,
                       "request line and header fields exceed max-header-bytes (" + limit + " bytes)"};
    }
    if (ec == bhttp::error::body_limit)
        return Refusal{bhttp::status::payload_too_large,
                       "body exceeds max-body-bytes (" + std::to_string(settings.max_body_bytes) + " bytes)"};
    if (ec == bhttp::error::bad_version && names_a_version(unparsed))
        return Refusal{bhttp::status::http_version_not_supported,
                       "HTTP version not supported: the gateway speaks HTTP/1.1 and HTTP/1.0"};
    if (is_parse_error(ec))
        return Refusal{bhttp::status::bad_request, (parser.is_header_done() ? "malformed HTTP request body: "
                                                                            : "malformed HTTP request: ") +
                                                       ec.message() + std::string(kHttpForm)};
    return std::nullopt; // the peer left, or the server stops
}

Response refusal_response(const Refusal& refusal, const Request& header)
{
    Response res = error_response(refusal.status, refusal.message, header);
    if (refusal.lists_codings) // RFC 9110 15.5.16; never on a 415 for another reason (12.5.3)
        res.set(bhttp::field::accept_encoding, "gzip, deflate");
    if (refusal.closes)
        res.keep_alive(false);
    return res;
}

bool finish_response(Response& response, const Request& request, bool must_close)
{
    // RFC 9110 6.2: HTTP/1.1, the highest version of major 1 the gateway implements, to 1.0 clients too.
    response.version(11);
    response.set(bhttp::field::date, http_date());
    const bool keep = !must_close && request.keep_alive() && response.keep_alive();
    if (!keep)
        response.set(bhttp::field::connection, "close");
    else if (request.version() < 11)
        response.set(bhttp::field::connection, "keep-alive"); // HTTP/1.0 closes without it
    const unsigned status = response.result_int();
    if (status < 200 || status == 204 || status == 304) {
        // RFC 9110 8.6, RFC 9112 6.1: these end with their header, and say nothing of a body length.
        response.erase(bhttp::field::content_length);
        response.erase(bhttp::field::transfer_encoding);
    }
    return keep;
}

} // namespace fleetscope::net
