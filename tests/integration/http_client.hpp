// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// Test-side helpers for the gateway's integration tests: an HTTP/1.1 client on raw bytes, so a test controls
// the framing to the byte, with a deadline on every wait; request builders; and a reader for the store's
// SQLite files that does not go through the store's own reading code.

#include "core/store/sqlite/batch.hpp"
#include "core/store/sqlite/chunk.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <optional>
#include <sqlite3.h>
#include <stdexcept>
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

/// Starts one operation on `io` and drives it for at most `timeout`; an operation still pending then is
/// stopped with `cancel` and reported as timed_out. What every test client's waits go through.
template <class Start, class Cancel>
error_code run_with_deadline(asio::io_context& io, Start start, Cancel cancel, milliseconds timeout)
{
    bool done = false;
    error_code result;
    io.restart();
    start([&done, &result](error_code ec) {
        done = true;
        result = ec;
    });
    io.run_for(timeout);
    if (!done) {
        cancel();
        io.restart();
        io.run();
        if (result == asio::error::operation_aborted)
            result = asio::error::timed_out;
    }
    return result;
}

/// One client connection. Each instance owns its io_context, so a thread per client needs no locking; the
/// operations are asynchronous only so that run_for can bound every wait. Not thread-safe: one thread uses
/// it.
class HttpClient {
public:
    HttpClient() = default;
    HttpClient(const HttpClient&) = delete;
    HttpClient& operator=(const HttpClient&) = delete;

    bool connect(std::uint16_t port, milliseconds timeout = kWait)
    {
        return connect("127.0.0.1", port, {}, timeout);
    }

    /// Connects to `host`:`port` from the local address `source` (any when empty), so that a test chooses
    /// the peer address the gateway sees.
    bool connect(const std::string& host, std::uint16_t port, const std::string& source,
                 milliseconds timeout = kWait)
    {
        close();
        const asio::ip::tcp::endpoint ep(asio::ip::make_address(host), port);
        if (!source.empty()) {
            socket_.open(ep.protocol(), error_);
            if (!error_)
                socket_.bind(asio::ip::tcp::endpoint(asio::ip::make_address(source), 0), error_);
            if (error_)
                return false;
        }
        error_ =
            run([&](auto done) { socket_.async_connect(ep, [done](error_code ec) mutable { done(ec); }); },
                timeout);
        return !error_;
    }

    /// Writes every byte, or fails with error().
    bool send(std::string_view bytes, milliseconds timeout = kWait)
    {
        error_ = run(
            [&](auto done) {
                asio::async_write(socket_, asio::buffer(bytes.data(), bytes.size()),
                                  [done](error_code ec, std::size_t) mutable { done(ec); });
            },
            timeout);
        return !error_;
    }

    /// The next response on the connection (pipelined responses stay buffered for the next call), or nothing
    /// with error() saying why: timed_out, eof, connection_reset, or a parse error. `head`: the response to a
    /// HEAD request, which ends with its header whatever its Content-Length says.
    std::optional<Response> read(milliseconds timeout = kWait, bool head = false)
    {
        bhttp::response_parser<bhttp::string_body> parser;
        parser.body_limit(64 * 1024 * 1024);
        parser.skip(head);
        error_ = run(
            [&](auto done) {
                bhttp::async_read(socket_, buffer_, parser,
                                  [done](error_code ec, std::size_t) mutable { done(ec); });
            },
            timeout);
        if (error_)
            return std::nullopt;
        return parser.release();
    }

    std::optional<Response> request(std::string_view raw, milliseconds timeout = kWait)
    {
        if (!send(raw, timeout))
            return std::nullopt;
        return read(timeout);
    }

    /// Waits for the server to close the connection without sending anything more. True on EOF or reset
    /// within the timeout; false when bytes arrived or the connection stayed open.
    bool wait_closed(milliseconds timeout = kWait)
    {
        if (buffer_.size() != 0)
            return false;
        char byte = 0;
        std::size_t got = 0;
        error_ = run(
            [&](auto done) {
                socket_.async_read_some(asio::buffer(&byte, 1),
                                        [done, &got](error_code ec, std::size_t n) mutable {
                                            got = n;
                                            done(ec);
                                        });
            },
            timeout);
        return got == 0 && (error_ == asio::error::eof || error_ == asio::error::connection_reset);
    }

    void close()
    {
        error_code ignored;
        socket_.close(ignored);
        buffer_.clear();
    }

    bool is_open() const { return socket_.is_open(); }
    /// Bytes received and not yet read as part of a response.
    std::size_t buffered() const { return buffer_.size(); }
    const error_code& error() const { return error_; }

private:
    template <class Start>
    error_code run(Start start, milliseconds timeout)
    {
        return run_with_deadline(
            io_, start,
            [this] {
                error_code ignored;
                socket_.cancel(ignored);
            },
            timeout);
    }

    asio::io_context io_{1};
    asio::ip::tcp::socket socket_{io_};
    boost::beast::flat_buffer buffer_;
    error_code error_;
};

/// A POST /v1/telemetry request with Content-Length; `headers` are extra lines, each ending in CRLF.
inline std::string post_telemetry(std::string_view body, std::string_view headers = {})
{
    std::string r = "POST /v1/telemetry HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n";
    r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    r += headers;
    r += "\r\n";
    r += body;
    return r;
}

/// An `Authorization: Bearer` header line for `token`.
inline std::string bearer_header(std::string_view token)
{
    return "Authorization: Bearer " + std::string(token) + "\r\n";
}

inline std::string get(std::string_view target, std::string_view headers = {})
{
    std::string r = "GET ";
    r += target;
    r += " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    r += headers;
    r += "\r\n";
    return r;
}

/// The readings of `device`'s `metric` as GET /v1/devices/{device}/samples returns them, (ts, value) in time
/// order, at most `limit`; nothing when the request or its JSON fails.
inline std::optional<std::vector<std::pair<std::int64_t, double>>>
device_readings(HttpClient& c, const std::string& device, const std::string& metric,
                std::size_t limit = 100'000)
{
    const auto r = c.request(
        get("/v1/devices/" + device + "/samples?metric=" + metric + "&limit=" + std::to_string(limit)));
    if (!r || r->result_int() != 200)
        return std::nullopt;
    boost::system::error_code ec;
    const boost::json::value v = boost::json::parse(r->body(), ec);
    if (ec || !v.is_array())
        return std::nullopt;
    std::vector<std::pair<std::int64_t, double>> out;
    for (const auto& e : v.as_array())
        out.emplace_back(e.at("ts").to_number<std::int64_t>(), e.at("value").to_number<double>());
    return out;
}

/// One sample with one metric `v`.
inline std::string sample_json(std::string_view device, std::int64_t ts, double value)
{
    return "{\"device\":\"" + std::string(device) + "\",\"ts\":" + std::to_string(ts) +
           ",\"metrics\":{\"v\":" + std::to_string(value) + "}}";
}

/// Every reading of one metric in a FleetScope store, as (device, ts) pairs sorted. Reads the main file's
/// `chunks` straight through SQLite, and the batches of the recent file beside it that the main file's
/// compaction marker says are not moved yet, decoded with the chunk and batch codecs alone: none of the
/// store's reading or merging code, so that a bug there cannot hide itself. Throws with SQLite's reason.
inline std::vector<std::pair<std::string, std::int64_t>> read_readings(const std::string& path,
                                                                       std::string_view metric = "v")
{
    struct Db {
        sqlite3* db = nullptr;
        std::string path;
        ~Db() { sqlite3_close(db); }
        [[noreturn]] void fail(const char* what) const
        {
            throw std::runtime_error(std::string(what) + " on " + path + ": " + sqlite3_errmsg(db));
        }
        void open(const std::string& p)
        {
            path = p;
            // Read-write without create: a file left by a killed process may need its WAL recovered.
            if (sqlite3_open_v2(p.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK)
                fail("cannot open");
            sqlite3_busy_timeout(db, 5000);
        }
        std::int64_t scalar(const char* sql) const
        {
            sqlite3_stmt* st = nullptr;
            if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) != SQLITE_OK)
                fail(sql);
            const std::int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
            sqlite3_finalize(st);
            return v;
        }
    };
    Db main;
    main.open(path);
    const auto version = main.scalar("PRAGMA user_version");
    if (version != 3)
        throw std::runtime_error("schema version " + std::to_string(version) + " in " + path +
                                 ": this reader knows version 3");
    std::map<std::int64_t, std::string> devices;
    std::map<std::int64_t, std::string> metrics;
    auto names = [&](const char* sql, std::map<std::int64_t, std::string>& into) {
        sqlite3_stmt* st = nullptr;
        if (sqlite3_prepare_v2(main.db, sql, -1, &st, nullptr) != SQLITE_OK)
            main.fail(sql);
        while (sqlite3_step(st) == SQLITE_ROW)
            into[sqlite3_column_int64(st, 0)] = reinterpret_cast<const char*>(sqlite3_column_text(st, 1));
        sqlite3_finalize(st);
    };
    names("SELECT id, name FROM devices", devices);
    names("SELECT id, name FROM metrics", metrics);
    const std::int64_t moved = main.scalar("SELECT moved_through FROM compaction");
    std::vector<std::pair<std::int64_t, std::int64_t>> rows; // (device id, ts)
    {
        sqlite3_stmt* st = nullptr;
        if (sqlite3_prepare_v2(main.db, "SELECT device_id, metric_id, readings, data FROM chunks", -1, &st,
                               nullptr) != SQLITE_OK)
            main.fail("select");
        int rc = 0;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            if (metrics[sqlite3_column_int64(st, 1)] != metric)
                continue;
            store::sqlite::ChunkDecoder chunk(
                std::string_view(static_cast<const char*>(sqlite3_column_blob(st, 3)),
                                 static_cast<std::size_t>(sqlite3_column_bytes(st, 3))),
                sqlite3_column_int64(st, 2), path);
            std::int64_t ts = 0;
            double value = 0;
            while (chunk.next(ts, value))
                rows.emplace_back(sqlite3_column_int64(st, 0), ts);
        }
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE)
            main.fail("select");
    }
    const std::string recent_path = path + "-recent";
    if (std::FILE* f = std::fopen(recent_path.c_str(), "rb")) {
        std::fclose(f);
        Db recent;
        recent.open(recent_path);
        sqlite3_stmt* st = nullptr;
        if (sqlite3_prepare_v2(recent.db, "SELECT batch FROM recent WHERE id > ?1 ORDER BY id", -1, &st,
                               nullptr) != SQLITE_OK)
            recent.fail("select");
        sqlite3_bind_int64(st, 1, moved);
        int rc = 0;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            store::sqlite::BatchDecoder batch(
                std::string_view(static_cast<const char*>(sqlite3_column_blob(st, 0)),
                                 static_cast<std::size_t>(sqlite3_column_bytes(st, 0))),
                recent_path);
            std::int64_t id = 0;
            std::string_view name;
            while (batch.next_device(id, name))
                devices[id] = std::string(name);
            while (batch.next_metric(id, name))
                metrics[id] = std::string(name);
            std::int64_t device = 0;
            std::int64_t ts = 0;
            std::size_t n = 0;
            while (batch.next_sample(device, ts, n)) {
                for (std::size_t i = 0; i < n; ++i) {
                    std::int64_t m = 0;
                    double value = 0;
                    batch.next_reading(m, value);
                    if (metrics[m] == metric)
                        rows.emplace_back(device, ts);
                }
            }
        }
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE)
            recent.fail("select");
    }
    std::vector<std::pair<std::string, std::int64_t>> out;
    out.reserve(rows.size());
    for (const auto& [device, ts] : rows)
        out.emplace_back(devices[device], ts);
    std::sort(out.begin(), out.end());
    return out;
}

/// What one posting client saw: the ts of every sample answered 204, and anything else that came back.
struct PostLog {
    std::string device;
    std::vector<std::int64_t> acked;
    std::vector<std::string> unexpected;
};

/// Posts samples of `log.device` with ts = first, first + 1, ... back to back on `c` until `stop` is set or
/// the connection ends. Only a 204 counts as acknowledged; a closed connection just ends the loop.
inline void post_back_to_back(HttpClient& c, PostLog& log, std::int64_t first, const std::atomic<bool>& stop)
{
    for (std::int64_t ts = first; !stop.load(std::memory_order_relaxed); ++ts) {
        if (!c.send(post_telemetry(sample_json(log.device, ts, double(ts % 1000))))) {
            if (c.error() == boost::asio::error::timed_out)
                log.unexpected.push_back("send timed out");
            return;
        }
        auto res = c.read();
        if (!res) {
            if (c.error() == boost::asio::error::timed_out)
                log.unexpected.push_back("no answer within 5 s");
            return;
        }
        if (res->result_int() != 204) {
            log.unexpected.push_back("status " + std::to_string(res->result_int()) + ": " + res->body());
            return;
        }
        log.acked.push_back(ts);
        if (!res->keep_alive())
            return;
    }
}

} // namespace fleetscope::testing
