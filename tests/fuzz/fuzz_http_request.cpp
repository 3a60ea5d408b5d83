// SPDX-License-Identifier: GPL-3.0-or-later
// libFuzzer target: raw bytes as what one client sends on one connection, through the gateway's own request
// loop without a socket. Each request goes through net::serve_request, the loop body every connection fiber
// runs: the Wire reads it (the bounded header reader, RFC 9112 framing, the limits of the default Settings,
// content decoding), http::Api checks and answers it, and the Wire writes the answer. The stream is the
// client's bytes in memory; everything else is real: a fiber of a runtime::Worker, a Store in a temporary
// directory. Pipelined requests are served while the connection would keep alive.
//
// Oracles besides crashes and sanitizer reports: every final status is one the gateway's HTTP contract names,
// an error from the API carries a JSON {"error": "..."} body, 503 carries Retry-After, a request is committed
// to the store exactly when it was answered 204, and the statuses do not depend on how the bytes were split
// into reads (each input is served twice: in one piece, then in reads of a few bytes, as a slow client
// delivers them).
#include "core/http/api.hpp"
#include "core/metrics/prometheus.hpp"
#include "core/metrics/registry.hpp"
#include "core/metrics/snapshot.hpp"
#include "core/net/wire.hpp"
#include "core/runtime/blocking.hpp"
#include "core/runtime/worker.hpp"
#include "core/store/store.hpp"

#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>
#include <boost/json/parse.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace fleetscope;
namespace asio = boost::asio;
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

/// The client's side of one connection as an asynchronous stream on the worker's io_context: reads return at
/// most `chunk` of the client's bytes, then the end of the stream; writes (the answers) are taken whole.
/// Completions are posted, as a socket's are. Used on the worker's thread only.
class ClientBytes {
public:
    using executor_type = asio::io_context::executor_type;

    ClientBytes(asio::io_context& io, std::string_view bytes, std::size_t chunk)
        : io_(io)
        , bytes_(bytes)
        , chunk_(chunk)
    {}

    executor_type get_executor() { return io_.get_executor(); }

    template <class MutableBuffers, class Token>
    auto async_read_some(const MutableBuffers& buffers, Token&& token)
    {
        return asio::async_initiate<Token, void(error_code, std::size_t)>(
            [this](auto handler, const MutableBuffers& into) {
                error_code ec;
                std::size_t n = 0;
                if (bytes_.empty()) {
                    ec = asio::error::eof;
                } else {
                    n = asio::buffer_copy(into, asio::buffer(bytes_.data(), std::min(chunk_, bytes_.size())));
                    bytes_.remove_prefix(n);
                }
                asio::post(io_, [h = std::move(handler), ec, n]() mutable { std::move(h)(ec, n); });
            },
            token, buffers);
    }

    template <class ConstBuffers, class Token>
    auto async_write_some(const ConstBuffers& buffers, Token&& token)
    {
        return asio::async_initiate<Token, void(error_code, std::size_t)>(
            [this](auto handler, const ConstBuffers& from) {
                const std::size_t n = asio::buffer_size(from);
                written_ += n;
                asio::post(io_, [h = std::move(handler), n]() mutable { std::move(h)(error_code{}, n); });
            },
            token, buffers);
    }

private:
    asio::io_context& io_;
    std::string_view bytes_;
    std::size_t chunk_;
    std::size_t written_ = 0;
};

bool is_contract_status(unsigned status)
{
    switch (status) {
    case 200:
    case 204:
    case 304:
    case 400:
    case 404:
    case 405:
    case 411:
    case 412:
    case 413:
    case 414:
    case 415:
    case 421:
    case 431:
    case 503:
    case 505:
        return true;
    default:
        return false;
    }
}

/// The gateway's Api, with the oracles on what it answers. Runs where the Api does: on the worker's fiber.
class CheckedApi final : public net::Handler {
public:
    CheckedApi(http::Api& api, store::Writer& store)
        : api_(api)
        , store_(store)
    {}

    void on_open(net::Session& session, const boost::asio::ip::address& peer) override
    {
        api_.on_open(session, peer);
    }

    std::optional<net::Response> check_header(const net::Request& header, net::Session& session) override
    {
        auto refusal = api_.check_header(header, session);
        if (refusal)
            check(*refusal);
        return refusal;
    }

    net::Reply handle(net::Request& request, net::Session& session) override
    {
        const auto before = store_.stats().committed_requests;
        net::Reply reply = api_.handle(request, session);
        const auto committed = store_.stats().committed_requests - before;
        require(committed == (reply.response.result() == bhttp::status::no_content ? 1U : 0U),
                "a request is committed exactly when it is answered 204");
        require(!reply.stream, "no route streams its body");
        check(reply.response);
        return reply;
    }

    void on_close(net::Session& session) noexcept override { api_.on_close(session); }

private:
    static void check(const net::Response& res)
    {
        const unsigned status = res.result_int();
        require(is_contract_status(status), "a status of the HTTP contract", std::to_string(status));
        if (status < 400)
            return;
        error_code ec;
        const auto body = boost::json::parse(res.body(), ec);
        require(!ec && body.is_object() && body.as_object().size() == 1 &&
                    body.as_object().contains("error") && body.at("error").is_string() &&
                    !body.at("error").as_string().empty(),
                "an error response carries {\"error\": \"...\"}", res.body());
        require(status != 503 || res.find(bhttp::field::retry_after) != res.end(), "503 carries Retry-After");
    }

    http::Api& api_;
    store::Writer& store_;
};

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
        , checked_(api_, store_->writer())
        // Never started: deadlines are armed and disarmed as on a connection, and never expire.
        , deadlines_(runtime_.worker(0).io(), settings_, [](net::Deadline&) {})
        , context_{deadlines_, settings_, registry_.slot(0), stopping_}
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

    /// Serves `bytes` as one connection on a fiber of the worker and returns the final statuses answered.
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

    std::vector<unsigned> converse(std::string_view bytes, std::size_t chunk)
    {
        ClientBytes stream(runtime_.worker(0).io(), bytes, chunk);
        net::WireState state;
        net::Session session;
        net::Wire<ClientBytes> wire(stream, state, context_, false);
        checked_.on_open(session, asio::ip::address_v4::loopback());
        std::vector<unsigned> statuses;
        for (int i = 0; i < kMaxRequestsPerInput; ++i) {
            const net::Served served = net::serve_request(wire, checked_, session);
            if (served.status != 0) {
                require(is_contract_status(served.status), "a status of the HTTP contract",
                        std::to_string(served.status));
                statuses.push_back(served.status);
            }
            if (!served.again)
                break;
        }
        checked_.on_close(session);
        return statuses;
    }

    Settings settings_;
    std::filesystem::path dir_;
    std::unique_ptr<store::Store> store_;
    metrics::Registry registry_;
    runtime::Runtime runtime_;
    runtime::BlockingPool blocking_;
    http::ConnectedDevices connected_;
    http::Api api_;
    CheckedApi checked_;
    net::DeadlineWheel deadlines_;
    bool stopping_ = false;
    net::WireContext context_;
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    static RequestPath path;
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    const auto whole = path.serve(bytes, bytes.size() + 1);
    // Beast's parser keeps its place between reads; a few bytes per read walks every resumption point.
    const auto trickled = path.serve(bytes, 1 + size % 7);
    if (whole != trickled) {
        std::string detail;
        for (const auto* run : {&whole, &trickled}) {
            detail += run == &whole ? "whole:" : "; trickled:";
            for (unsigned status : *run)
                detail += " " + std::to_string(status);
        }
        require(false, "the same statuses whether the bytes arrive at once or trickle in:", detail);
    }
    return 0;
}
