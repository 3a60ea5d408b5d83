// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// Test-side helpers for the gateway's integration tests: an HTTP/1.1 client on raw bytes, so a test controls
// the framing to the byte, with a deadline on every wait; and request builders. The client's Asio and Beast
// code is compiled once, in http_client.cpp (fleetscope_test_clients), not in every suite that includes this.

#include <boost/asio/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/system/error_code.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fleetscope::testing {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using boost::system::error_code;
using std::chrono::milliseconds;
using Response = bhttp::response<bhttp::string_body>;

inline constexpr milliseconds kWait{5000};

/// Copies a header value whatever string_view type Beast was configured with.
template <class View>
std::string str(const View& v)
{
    return std::string(v.data(), v.size());
}

/// The first of `messages` for a QVERIFY2 description, which is evaluated even when the check passes.
inline const char* first(const std::vector<std::string>& messages)
{
    return messages.empty() ? "" : messages.front().c_str();
}

/// One client connection. Each instance owns its io_context, so a thread per client needs no locking; the
/// operations are asynchronous only so that every wait can be bounded. Not thread-safe: one thread uses it.
class HttpClient {
public:
    HttpClient();
    ~HttpClient();
    HttpClient(const HttpClient&) = delete;
    HttpClient& operator=(const HttpClient&) = delete;

    bool connect(std::uint16_t port, milliseconds timeout = kWait);

    /// Connects to `host`:`port` from the local address `source` (any when empty), so that a test chooses
    /// the peer address the gateway sees.
    bool connect(const std::string& host, std::uint16_t port, const std::string& source,
                 milliseconds timeout = kWait);

    /// Writes every byte, or fails with error().
    bool send(std::string_view bytes, milliseconds timeout = kWait);

    /// The next response on the connection (pipelined responses stay buffered for the next call), or nothing
    /// with error() saying why: timed_out, eof, connection_reset, or a parse error. `head`: the response to a
    /// HEAD request, which ends with its header whatever its Content-Length says.
    std::optional<Response> read(milliseconds timeout = kWait, bool head = false);

    std::optional<Response> request(std::string_view raw, milliseconds timeout = kWait);

    /// Waits for the server to close the connection without sending anything more. True on EOF or reset
    /// within the timeout; false when bytes arrived or the connection stayed open.
    bool wait_closed(milliseconds timeout = kWait);

    void close();

    bool is_open() const;
    /// Bytes received and not yet read as part of a response.
    std::size_t buffered() const;
    const error_code& error() const { return error_; }

private:
    struct Connection;
    std::unique_ptr<Connection> c_;
    error_code error_;
};

/// A POST /v1/telemetry request with Content-Length; `headers` are extra lines, each ending in CRLF.
std::string post_telemetry(std::string_view body, std::string_view headers = {});

/// An `Authorization: Bearer` header line for `token`.
std::string bearer_header(std::string_view token);

/// A GET of `target`; `headers` are extra lines, each ending in CRLF.
std::string get(std::string_view target, std::string_view headers = {});

/// One sample with one metric `v`.
std::string sample_json(std::string_view device, std::int64_t ts, double value);

/// The readings of `device`'s `metric` as GET /v1/devices/{device}/samples returns them, (ts, value) in time
/// order, at most `limit`; nothing when the request or its JSON fails.
std::optional<std::vector<std::pair<std::int64_t, double>>> device_readings(HttpClient& c,
                                                                            const std::string& device,
                                                                            const std::string& metric,
                                                                            std::size_t limit = 100'000);

/// What one posting client saw: the ts of every sample answered 204, and anything else that came back.
struct PostLog {
    std::string device;
    std::vector<std::int64_t> acked;
    std::vector<std::string> unexpected;
};

/// Posts samples of `log.device` with ts = first, first + 1, ... back to back on `c` until `stop` is set or
/// the connection ends. Only a 204 counts as acknowledged; a closed connection just ends the loop.
void post_back_to_back(HttpClient& c, PostLog& log, std::int64_t first, const std::atomic<bool>& stop);

} // namespace fleetscope::testing
