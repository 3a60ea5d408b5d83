// SPDX-License-Identifier: GPL-3.0-or-later
// libFuzzer target: raw bytes as what one client sends on one connection, through the real request path
// without a socket. The bytes are read the way net::WorkerNet::serve reads them (Beast's request parser on
// the request arena, limited by net::limit_header and net::limit_body with the default Settings), then go
// through http::Api's check_header and handle, on a fiber of a real runtime::Worker, against a real Store in
// a temporary directory; each response is serialized as the connection would write it. Pipelined requests are
// served while the connection would keep alive.
//
// Oracles besides crashes and sanitizer reports: every response has a status of DESIGN.md's HTTP API, an
// error carries a JSON {"error": "..."} body, 503 carries Retry-After, a request is committed to the store
// exactly when it was answered 204, and the statuses do not depend on how the bytes were split into reads
// (each input is served twice: in one piece, then in reads of a few bytes, as a slow client delivers them).
#include "core/http/api.hpp"
#include "core/metrics/prometheus.hpp"
#include "core/metrics/registry.hpp"
#include "core/metrics/snapshot.hpp"
#include "core/net/request_parser.hpp"
#include "core/runtime/blocking.hpp"
#include "core/runtime/worker.hpp"
#include "core/store/store.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/parse.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <memory_resource>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace fleetscope;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using boost::system::error_code;

// Bounds the work of one input: a connection would go on, but more requests add no new paths.
constexpr int kMaxRequestsPerInput = 16;

void require(bool ok, const char* what, std::string_view detail = {})
{
    if (!ok) {
        std::fprintf(stderr, "fuzz_http_request: contract broken: %s %.*s\n", what,
                     static_cast<int>(detail.size()), detail.data());
        std::abort();
    }
}

/// The client's bytes as a synchronous stream: reads return at most `chunk` bytes, then end of stream. Writes
/// (the responses) are collected.
class ClientBytes {
public:
    ClientBytes(std::string_view bytes, std::size_t chunk)
        : bytes_(bytes)
        , chunk_(chunk)
    {}

    template <class MutableBuffers>
    std::size_t read_some(const MutableBuffers& buffers, error_code& ec)
    {
        if (bytes_.empty()) {
            ec = asio::error::eof;
            return 0;
        }
        ec = {};
        const std::size_t n =
            asio::buffer_copy(buffers, asio::buffer(bytes_.data(), std::min(chunk_, bytes_.size())));
        bytes_.remove_prefix(n);
        return n;
    }
    template <class MutableBuffers>
    std::size_t read_some(const MutableBuffers& buffers)
    {
        error_code ec;
        const std::size_t n = read_some(buffers, ec);
        if (ec)
            throw boost::system::system_error(ec);
        return n;
    }

    template <class ConstBuffers>
    std::size_t write_some(const ConstBuffers& buffers, error_code& ec)
    {
        ec = {};
        const std::size_t n = asio::buffer_size(buffers);
        written.resize(written.size() + n);
        asio::buffer_copy(asio::buffer(written.data() + written.size() - n, n), buffers);
        return n;
    }
    template <class ConstBuffers>
    std::size_t write_some(const ConstBuffers& buffers)
    {
        error_code ec;
        return write_some(buffers, ec);
    }

    std::string written;

private:
    std::string_view bytes_;
    std::size_t chunk_;
};

bool is_parse_error(const error_code& ec)
{
    return ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category();
}

/// The gateway's request path minus the sockets: one worker, the store, the blocking pool and the Api.
class RequestPath {
public:
    RequestPath()
        : dir_(make_dir())
        , store_(store::open_store(store_options(dir_)))
        , registry_(1)
        , runtime_(1, runtime::WorkerOptions{settings_.fiber_stack_bytes, settings_.stack_cache_per_worker})
        , blocking_(1)
        , api_(http::Services{*store_, blocking_, registry_, connected_, settings_,
                              [] { return metrics::prometheus_text(metrics::Snapshot{}); },
                              [] { return std::string(R"({"status":"ok"})"); }})
    {
        runtime_.start();
    }

    ~RequestPath()
    {
        runtime_.stop();
        runtime_.join();
        store_->writer().stop();
        error_code ignored;
        std::filesystem::remove_all(dir_, ignored);
    }

    RequestPath(const RequestPath&) = delete;
    RequestPath& operator=(const RequestPath&) = delete;

    /// Serves `bytes` as one connection on a fiber of the worker and returns the statuses answered.
    std::vector<unsigned> serve(std::string_view bytes, std::size_t chunk)
    {
        std::promise<std::vector<unsigned>> done;
        runtime_.worker(0).post_spawn([&] { done.set_value(converse(bytes, chunk)); });
        return done.get_future().get();
    }

private:
    static std::filesystem::path make_dir()
    {
        std::string pattern = (std::filesystem::temp_directory_path() / "fleetscope-fuzz-XXXXXX").string();
        require(::mkdtemp(pattern.data()) != nullptr, "mkdtemp", pattern);
        return pattern;
    }

    static store::Options store_options(const std::filesystem::path& dir)
    {
        Settings s;
        s.db_path = (dir / "fuzz.db").string();
        return store::Options::from(s);
    }

    /// What WorkerNet::serve does with a connection's bytes, in the same order and with the same limits.
    std::vector<unsigned> converse(std::string_view bytes, std::size_t chunk)
    {
        ClientBytes stream(bytes, chunk);
        beast::flat_buffer buffer;
        http::ConnectionState state;
        std::vector<unsigned> statuses;
        for (int i = 0; i < kMaxRequestsPerInput; ++i) {
            std::array<std::byte, 3072> arena_buffer;
            std::pmr::monotonic_buffer_resource arena(arena_buffer.data(), arena_buffer.size());
            const http::Allocator alloc(&arena);
            net::RequestParser parser(std::piecewise_construct, std::make_tuple(alloc),
                                      std::make_tuple(alloc));
            net::limit_header(parser, settings_);
            error_code ec;
            bhttp::read_header(stream, buffer, parser, ec);
            if (ec) {
                const http::Request none;
                if (ec == bhttp::error::end_of_stream)
                    break;
                if (ec == bhttp::error::header_limit)
                    statuses.push_back(
                        answer(stream, api_.error(bhttp::status::request_header_fields_too_large,
                                                  "header too large", none)));
                else if (is_parse_error(ec))
                    statuses.push_back(
                        answer(stream, api_.error(bhttp::status::bad_request,
                                                  "malformed HTTP request: " + ec.message(), none)));
                break;
            }
            if (auto refusal = api_.check_header(parser.get())) {
                statuses.push_back(answer(stream, std::move(*refusal)));
                break;
            }
            if (!parser.is_done()) {
                net::limit_body(parser, settings_);
                bhttp::read(stream, buffer, parser, ec);
                if (ec) {
                    if (ec == bhttp::error::body_limit)
                        statuses.push_back(answer(stream, api_.error(bhttp::status::payload_too_large,
                                                                     "body too large", parser.get())));
                    else if (is_parse_error(ec))
                        statuses.push_back(
                            answer(stream,
                                   api_.error(bhttp::status::bad_request,
                                              "malformed HTTP request body: " + ec.message(), parser.get())));
                    break;
                }
            }
            http::Request request = parser.release();
            const auto before = store_->writer().stats().committed_requests;
            http::Response res = api_.handle(request, state);
            const auto committed = store_->writer().stats().committed_requests - before;
            require(committed == (res.result() == bhttp::status::no_content ? 1U : 0U),
                    "a request is committed exactly when it is answered 204");
            const bool keep_alive = res.keep_alive();
            statuses.push_back(answer(stream, std::move(res)));
            if (!keep_alive)
                break;
        }
        api_.on_close(state);
        return statuses;
    }

    /// Checks a response against the HTTP contract and writes it as the connection would.
    static unsigned answer(ClientBytes& stream, http::Response res)
    {
        const unsigned status = res.result_int();
        switch (status) {
        case 200:
        case 204:
            break;
        case 400:
        case 404:
        case 405:
        case 411:
        case 413:
        case 415:
        case 431:
        case 503: {
            error_code ec;
            const auto body = boost::json::parse(res.body(), ec);
            require(!ec && body.is_object() && body.as_object().size() == 1 &&
                        body.as_object().contains("error") && body.at("error").is_string() &&
                        !body.at("error").as_string().empty(),
                    "an error response carries {\"error\": \"...\"}", res.body());
            require(status != 503 || res.find(bhttp::field::retry_after) != res.end(),
                    "503 carries Retry-After");
            break;
        }
        default:
            require(false, "a status of the HTTP contract", std::to_string(status));
        }
        error_code ec;
        bhttp::write(stream, res, ec);
        require(!ec, "the response serializes", ec.message());
        return status;
    }

    Settings settings_;
    std::filesystem::path dir_;
    std::unique_ptr<store::Store> store_;
    metrics::Registry registry_;
    runtime::Runtime runtime_;
    runtime::BlockingPool blocking_;
    http::ConnectedDevices connected_;
    http::Api api_;
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    static RequestPath path;
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    const auto whole = path.serve(bytes, bytes.size() + 1);
    // Beast's parser keeps its place between reads; a few bytes per read walks every resumption point.
    const auto trickled = path.serve(bytes, 1 + size % 7);
    require(whole == trickled, "the same statuses whether the bytes arrive at once or trickle in");
    return 0;
}
