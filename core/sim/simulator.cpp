// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/sim/simulator.hpp"

#include "core/metrics/system.hpp"
#include "core/sim/loopback.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/json/serializer.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#if !defined(_WIN32)
#include <netinet/in.h> // IP_BIND_ADDRESS_NO_PORT, where the OS has it
#include <sys/socket.h>
#endif

namespace fleetscope::sim {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using boost::system::error_code;

namespace {

constexpr auto kTok = asio::as_tuple(asio::use_awaitable);
// Sockets and timers bound to the concrete io_context executor: the type-erased any_io_executor costs a copy
// and an indirection on every operation, and the simulator must stay cheaper than the gateway it measures.
using Executor = asio::io_context::executor_type;
using Stream = beast::basic_stream<tcp, Executor, beast::unlimited_rate_policy>;
using Timer = asio::basic_waitable_timer<std::chrono::steady_clock,
                                         asio::wait_traits<std::chrono::steady_clock>, Executor>;
// Pause before re-opening a connection that failed mid-run, so a refusing gateway is not hammered.
constexpr auto kReconnectPause = std::chrono::milliseconds(100);

bool valid_identifier_chars(std::string_view s)
{
    return std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
               c == '_' || c == ':' || c == '-';
    });
}

std::pair<std::string, std::string> split_host_port(std::string_view target)
{
    const auto colon = target.rfind(':');
    if (colon == std::string_view::npos)
        return {};
    std::string host(target.substr(0, colon));
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    return {host, std::string(target.substr(colon + 1))};
}

double seconds_between(Clock::time_point a, Clock::time_point b)
{
    return std::chrono::duration<double>(b - a).count();
}

// Everything one io_context thread owns. The connection coroutines spawned on `io` are the only writers; the
// controller thread reads the atomics for progress and the rest only after the thread has been joined.
struct alignas(64) Worker {
    asio::io_context io{1};

    // The start gate: connections that finished their ramp step wait here until the controller opens it.
    Timer gate{io.get_executor()};
    bool gate_open = false;
    Clock::time_point start{}; // beginning of the run (or the hold), set when the gate opens

    Histogram latency;
    std::map<int, std::uint64_t> status;
    ErrorCounts errors;
    std::map<std::string, std::uint64_t> error_messages;
    std::vector<std::uint64_t> source_connects;
    std::uint64_t sent = 0;
    std::uint64_t unsent = 0;
    std::uint64_t reconnects = 0;
    std::uint64_t held = 0;
    std::uint64_t hold_answered = 0;
    std::uint64_t hold_failed = 0;

    std::atomic<std::uint64_t> opened{0};
    std::atomic<std::uint64_t> failed{0};
    std::atomic<std::uint64_t> refused{0};
    std::atomic<std::uint64_t> responses{0}; // measured window only
    std::atomic<std::uint64_t> ok{0};
    std::atomic<std::uint64_t> request_errors{0};

    // A timer that never expires by itself: its waits end only when the gate opens and cancels them.
    Worker() { gate.expires_at(Timer::time_point::max()); }
};

// State shared by the controller and every worker. Immutable during the run except the atomics and the
// condition variable that lets workers wake the controller.
struct Session {
    Options opt;
    std::string host; // of --target: the name the gateway's certificate must carry
    bool sni = false; // `host` is a name, not an address: send it as the TLS server name
    std::unique_ptr<asio::ssl::context> tls;
    tcp::endpoint target;
    std::vector<asio::ip::address> sources;
    std::vector<std::unique_ptr<Worker>> workers;

    std::atomic<std::size_t> connecting{0}; // ramp steps in flight (connect, and hold's first post)
    std::atomic<std::size_t> ramped{0};     // devices past their ramp step (opened or failed)
    std::atomic<std::size_t> finished{0};   // connection coroutines that returned

    std::mutex mutex;
    std::condition_variable wake;

    void notify()
    {
        // Taking the lock orders this notification after the controller's predicate check: no lost wake-up.
        {
            std::lock_guard lock(mutex);
        }
        wake.notify_one();
    }
};

enum class ErrorKind { connect_refused, connect_timeout, connect_other, reset, closed, timeout, other };

ErrorKind classify(const error_code& ec, bool connecting)
{
    if (ec == beast::error::timeout)
        return connecting ? ErrorKind::connect_timeout : ErrorKind::timeout;
    if (connecting)
        return ec == asio::error::connection_refused ? ErrorKind::connect_refused : ErrorKind::connect_other;
    if (ec == asio::error::connection_reset || ec == asio::error::broken_pipe)
        return ErrorKind::reset;
    if (ec == asio::error::eof || ec == http::error::end_of_stream || ec == http::error::partial_message)
        return ErrorKind::closed;
    return ErrorKind::other;
}

void record_error(Worker& w, const error_code& ec, bool connecting, std::string_view what)
{
    switch (classify(ec, connecting)) {
    case ErrorKind::connect_refused:
        ++w.errors.connect_refused;
        return;
    case ErrorKind::connect_timeout:
        ++w.errors.connect_timeout;
        return;
    case ErrorKind::connect_other:
        ++w.errors.connect_other;
        break;
    case ErrorKind::reset:
        ++w.errors.reset;
        return;
    case ErrorKind::closed:
        ++w.errors.closed;
        return;
    case ErrorKind::timeout:
        ++w.errors.timeout;
        return;
    case ErrorKind::other:
        ++w.errors.other;
        break;
    }
    // The unusual kinds keep their system message so the report can say what actually happened.
    ++w.error_messages[std::string(what) + ": " + ec.message()];
}

// One simulated device: its connection, its request and its sample, all living in the coroutine frame.
class Device {
public:
    Device(Session& s, Worker& w, std::size_t index)
        : s_(s)
        , w_(w)
        , index_(index)
        , stream_(w.io.get_executor())
        , timer_(w.io.get_executor())
        , rng_(0x9E3779B97F4A7C15ull ^ (index + 1) * 0xBF58476D1CE4E5B9ull)
    {
        req_.method(http::verb::post);
        req_.target("/v1/telemetry");
        req_.version(11);
        req_.set(http::field::host, s.opt.target);
        req_.set(http::field::content_type, "application/json");
        req_.set(http::field::user_agent, "fleetscope-sim");
        if (!s.opt.token.empty())
            req_.set(http::field::authorization, "Bearer " + s.opt.token);
        sample_["device"] = s.opt.device_prefix + "-" + std::to_string(index);
        sample_["ts"] = std::int64_t{0};
        boost::json::object metrics;
        static constexpr std::string_view kNames[] = {"temp_c", "rssi", "battery_v", "cpu_pct", "uptime_s"};
        for (std::size_t i = 0; i < s.opt.metrics; ++i)
            metrics[i < std::size(kNames) ? std::string(kNames[i]) : "m" + std::to_string(i)] = 0.0;
        sample_["metrics"] = std::move(metrics);
        // The object is complete: no insertion follows, so these pointers stay valid for the device's life.
        ts_ = &sample_.at("ts");
        metrics_ = &sample_.at("metrics").as_object();
    }

    asio::awaitable<void> run()
    {
        // The ramp step holds one of the ramp's in-flight slots: the connect, and in hold mode the first post
        // too, so that opening a big fleet measures holding it rather than a burst of 15,000 posts at once.
        const bool first_ok = co_await connect(true);
        if (s_.opt.mode == Mode::hold && first_ok)
            co_await hold_first_post();
        s_.connecting.fetch_sub(1, std::memory_order_relaxed);
        s_.ramped.fetch_add(1, std::memory_order_relaxed);
        s_.notify();
        if (!first_ok)
            co_return;
        co_await wait_gate();
        switch (s_.opt.mode) {
        case Mode::closed:
            co_await closed_loop();
            break;
        case Mode::open:
            co_await open_loop();
            break;
        case Mode::hold:
            co_await hold_check();
            break;
        }
        error_code ignored;
        stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
        stream_.close();
    }

private:
    // Opens the connection from this device's source address. `first` marks the ramp connect, counted apart
    // from reconnects.
    asio::awaitable<bool> connect(bool first)
    {
        error_code ec = open_socket();
        if (!ec) {
            stream_.expires_after(s_.opt.connect_timeout);
            std::tie(ec) = co_await stream_.async_connect(s_.target, kTok);
        }
        if (!ec && s_.tls)
            ec = co_await handshake();
        if (ec) {
            record_error(w_, ec, true, "connect");
            if (first) {
                if (ec == asio::error::connection_refused)
                    w_.refused.fetch_add(1, std::memory_order_relaxed);
                else
                    w_.failed.fetch_add(1, std::memory_order_relaxed);
            }
            stream_.close();
            co_return false;
        }
        stream_.socket().set_option(tcp::no_delay(true), ec);
        if (!s_.sources.empty())
            ++w_.source_connects[index_ % s_.sources.size()];
        if (first)
            w_.opened.fetch_add(1, std::memory_order_relaxed);
        else
            ++w_.reconnects;
        co_return true;
    }

    // A fresh TLS session on the just-connected stream, under the connect timeout.
    asio::awaitable<error_code> handshake()
    {
        tls_.emplace(stream_, *s_.tls);
        if (!s_.opt.ca_file.empty())
            tls_->set_verify_callback(asio::ssl::host_name_verification(s_.host));
        if (s_.sni)
            SSL_set_tlsext_host_name(tls_->native_handle(), s_.host.c_str());
        error_code ec;
        stream_.expires_after(s_.opt.connect_timeout);
        std::tie(ec) = co_await tls_->async_handshake(asio::ssl::stream_base::client, kTok);
        stream_.expires_never();
        co_return ec;
    }

    error_code open_socket()
    {
        error_code ec;
        auto& sock = stream_.socket();
        sock.open(s_.target.protocol(), ec);
        if (ec || s_.sources.empty())
            return ec;
#ifdef IP_BIND_ADDRESS_NO_PORT
        // Defer the port choice to connect(), so a port is unique per 4-tuple rather than per source address:
        // without this, bind() would reserve the port against every destination. Best effort: without it the
        // bind still works, with fewer ports.
        const int on = 1;
        ::setsockopt(sock.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &on, sizeof on);
#endif
        sock.bind(tcp::endpoint(s_.sources[index_ % s_.sources.size()], 0), ec);
        if (ec)
            sock.close();
        return ec;
    }

    asio::awaitable<void> wait_gate()
    {
        while (!w_.gate_open)
            co_await w_.gate.async_wait(kTok); // cancelled when the controller opens the gate
    }

    void fill_sample()
    {
        *ts_ = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
        for (auto& m : *metrics_) {
            // xorshift64: cheap, deterministic per device, different values each post.
            rng_ ^= rng_ << 13;
            rng_ ^= rng_ >> 7;
            rng_ ^= rng_ << 17;
            m.value() = static_cast<double>(rng_ % 100'000) / 100.0;
        }
        // Serialize into the body's existing capacity: no allocation once the first post has sized it.
        std::string& body = req_.body();
        body.clear();
        serializer_.reset(&sample_);
        char chunk[512];
        while (!serializer_.done())
            body.append(serializer_.read(chunk));
        req_.content_length(body.size());
    }

    struct Outcome {
        error_code ec;
        int status = 0;
        bool keep_alive = true;
    };

    // One request and its response; the connection is re-opened first if an earlier error closed it.
    asio::awaitable<Outcome> post()
    {
        Outcome out;
        if (!stream_.socket().is_open()) {
            co_await pause(kReconnectPause);
            if (!co_await connect(false)) {
                out.ec = asio::error::not_connected;
                co_return out;
            }
        }
        fill_sample();
        stream_.expires_after(s_.opt.request_timeout);
        if (tls_)
            std::tie(out.ec, std::ignore) = co_await http::async_write(*tls_, req_, kTok);
        else
            std::tie(out.ec, std::ignore) = co_await http::async_write(stream_, req_, kTok);
        if (!out.ec) {
            ++w_.sent;
            http::response<http::string_body> res;
            if (tls_)
                std::tie(out.ec, std::ignore) = co_await http::async_read(*tls_, buffer_, res, kTok);
            else
                std::tie(out.ec, std::ignore) = co_await http::async_read(stream_, buffer_, res, kTok);
            if (!out.ec) {
                out.status = static_cast<int>(res.result_int());
                out.keep_alive = res.keep_alive();
            }
        }
        stream_.expires_never();
        if (out.ec) {
            record_error(w_, out.ec, false, "request");
        } else {
            ++w_.status[out.status];
        }
        if (out.ec || !out.keep_alive) {
            error_code ignored;
            stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
            stream_.close();
            buffer_.clear();
        }
        co_return out;
    }

    void record(const Outcome& out, Clock::time_point from)
    {
        if (out.ec) {
            // A failed reconnect was already counted as a connect error.
            if (out.ec != asio::error::not_connected)
                w_.request_errors.fetch_add(1, std::memory_order_relaxed);
            return;
        }
        const auto us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - from).count();
        w_.latency.record(static_cast<std::uint64_t>(std::max<std::int64_t>(us, 0)));
        w_.responses.fetch_add(1, std::memory_order_relaxed);
        if (out.status >= 200 && out.status < 300)
            w_.ok.fetch_add(1, std::memory_order_relaxed);
    }

    asio::awaitable<void> pause(Clock::duration d)
    {
        timer_.expires_after(d);
        co_await timer_.async_wait(kTok);
    }

    asio::awaitable<void> closed_loop()
    {
        const auto end = w_.start + s_.opt.duration;
        while (Clock::now() < end) {
            const auto t0 = Clock::now();
            const Outcome out = co_await post();
            record(out, t0);
        }
    }

    // Each post is due at start + offset + k * interval, the offsets spreading the fleet evenly over one
    // interval. Latency counts from the due time, not the send time: when the gateway stalls, the posts that
    // should have gone out meanwhile carry the stall in their latency instead of silently not happening
    // (coordinated omission). Late posts go out back to back until the schedule is caught up.
    asio::awaitable<void> open_loop()
    {
        const auto interval = std::chrono::duration_cast<Clock::duration>(s_.opt.interval);
        const auto offset =
            interval * static_cast<Clock::rep>(index_) / static_cast<Clock::rep>(s_.opt.connections);
        const auto end = w_.start + s_.opt.duration;
        // Past this point nothing more is sent: a stalled gateway must not keep the run going forever.
        const auto drain_deadline = end + s_.opt.request_timeout;
        for (auto due = w_.start + offset; due < end; due += interval) {
            if (Clock::now() >= drain_deadline) {
                w_.unsent +=
                    static_cast<std::uint64_t>((end - due + interval - Clock::duration(1)) / interval);
                break;
            }
            if (due > Clock::now()) {
                timer_.expires_at(due);
                co_await timer_.async_wait(kTok);
            }
            const Outcome out = co_await post();
            record(out, due);
        }
    }

    asio::awaitable<void> hold_first_post()
    {
        const Outcome out = co_await post();
        held_ = !out.ec && out.status >= 200 && out.status < 300;
        if (held_)
            ++w_.held;
        else
            ++w_.hold_failed;
    }

    asio::awaitable<void> hold_check()
    {
        if (!held_)
            co_return; // already counted as failed
        co_await pause(w_.start + s_.opt.hold - Clock::now());
        // The check must find the connection that was held, not a fresh one: post() would reconnect a closed
        // socket, so a connection the gateway closed (Connection: close) fails here.
        if (!stream_.socket().is_open()) {
            ++w_.errors.closed;
            ++w_.hold_failed;
            co_return;
        }
        const auto t0 = Clock::now();
        const Outcome out = co_await post();
        record(out, t0);
        if (!out.ec && out.status >= 200 && out.status < 300)
            ++w_.hold_answered;
        else
            ++w_.hold_failed;
    }

    Session& s_;
    Worker& w_;
    std::size_t index_;
    Stream stream_;
    std::optional<beast::ssl_stream<Stream&>> tls_; // HTTPS: the session of the current connection
    Timer timer_;
    beast::flat_buffer buffer_;
    http::request<http::string_body> req_;
    boost::json::object sample_;
    boost::json::value* ts_ = nullptr;
    boost::json::object* metrics_ = nullptr;
    boost::json::serializer serializer_;
    std::uint64_t rng_;
    bool held_ = false; // hold mode: the first post succeeded
};

asio::awaitable<void> device_main(Session& s, Worker& w, std::size_t index)
{
    Device d(s, w, index);
    co_await d.run();
}

// The size of Linux's ephemeral port range, or 0 where it cannot be read.
std::size_t ephemeral_ports()
{
    std::FILE* f = std::fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
    if (!f)
        return 0;
    unsigned low = 0;
    unsigned high = 0;
    const bool ok = std::fscanf(f, "%u %u", &low, &high) == 2 && high >= low;
    std::fclose(f);
    return ok ? high - low + 1 : 0;
}

std::size_t auto_sources(const Options& o)
{
    return std::max<std::size_t>(1,
                                 (o.connections + Options::kPortsPerSource - 1) / Options::kPortsPerSource);
}

Progress tally(Session& s, Phase phase, Clock::time_point phase_start, Clock::time_point ramp_start)
{
    Progress p;
    p.phase = phase;
    p.target_connections = s.opt.connections;
    const auto now = Clock::now();
    p.phase_seconds = seconds_between(phase_start, now);
    for (const auto& w : s.workers) {
        p.opened += w->opened.load(std::memory_order_relaxed);
        p.failed += w->failed.load(std::memory_order_relaxed) + w->refused.load(std::memory_order_relaxed);
        p.refused += w->refused.load(std::memory_order_relaxed);
        p.responses += w->responses.load(std::memory_order_relaxed);
        p.ok += w->ok.load(std::memory_order_relaxed);
        p.errors += w->request_errors.load(std::memory_order_relaxed);
    }
    const double ramp_s = seconds_between(ramp_start, now);
    p.connects_per_s = ramp_s > 0 ? static_cast<double>(p.opened + p.failed) / ramp_s : 0;
    return p;
}

// Reports progress and waits on the session's condition variable until `done()` holds.
// `poll` bounds each wait, for work that is due by the clock rather than signalled (the ramp rate).
template <class Done>
void wait_reporting(Session& s, Phase phase, Clock::time_point ramp_start, const ProgressCallback& progress,
                    Done&& done, const std::function<void()>& step = {},
                    Clock::duration poll = std::chrono::milliseconds(100))
{
    const auto phase_start = Clock::now();
    auto next_report = phase_start + s.opt.progress_period;
    std::uint64_t last_responses = 0;
    auto last_time = phase_start;
    if (progress) {
        Progress p = tally(s, phase, phase_start, ramp_start);
        p.phase_started = true;
        last_responses = p.responses;
        progress(p);
    }
    for (;;) {
        if (step)
            step();
        if (done())
            return;
        const auto now = Clock::now();
        if (progress && now >= next_report) {
            Progress p = tally(s, phase, phase_start, ramp_start);
            const double dt = seconds_between(last_time, now);
            p.recent_rps = dt > 0 ? static_cast<double>(p.responses - last_responses) / dt : 0;
            last_responses = p.responses;
            last_time = now;
            progress(p);
            next_report = now + s.opt.progress_period;
        }
        const auto wake_at = progress ? std::min(next_report, now + poll) : now + poll;
        std::unique_lock lock(s.mutex);
        if (!done())
            s.wake.wait_until(lock, wake_at);
    }
}

} // namespace

std::string_view to_string(Mode m)
{
    switch (m) {
    case Mode::closed:
        return "closed";
    case Mode::open:
        return "open";
    case Mode::hold:
        return "hold";
    }
    return "?";
}

std::optional<Mode> parse_mode(std::string_view s)
{
    for (Mode m : {Mode::closed, Mode::open, Mode::hold})
        if (s == to_string(m))
            return m;
    return std::nullopt;
}

std::string_view to_string(Phase p)
{
    switch (p) {
    case Phase::ramp:
        return "ramp";
    case Phase::run:
        return "run";
    case Phase::hold:
        return "hold";
    case Phase::check:
        return "check";
    case Phase::done:
        return "done";
    }
    return "?";
}

std::uint64_t ErrorCounts::total() const
{
    return connect_refused + connect_timeout + connect_other + reset + closed + timeout + other;
}

void ErrorCounts::add(const ErrorCounts& o)
{
    connect_refused += o.connect_refused;
    connect_timeout += o.connect_timeout;
    connect_other += o.connect_other;
    reset += o.reset;
    closed += o.closed;
    timeout += o.timeout;
    other += o.other;
}

int Report::exit_code() const
{
    if (!fatal.empty())
        return 2;
    if (refused > 0 || errors.connect_refused > 0)
        return 1;
    if (options.mode == Mode::hold && (hold_failed > 0 || failed > 0 || errors.total() > 0))
        return 1;
    return 0;
}

std::string validate(const Options& o)
{
    const auto [host, port] = split_host_port(o.target);
    const auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
    if (host.empty() || port.empty() || !std::all_of(port.begin(), port.end(), is_digit) || port.size() > 5 ||
        std::stoul(port) == 0 || std::stoul(port) > 65535)
        return "--target '" + o.target + "' is not HOST:PORT with a port from 1 to 65535";
    if (o.connections < 1)
        return "--connections must be at least 1 (one device per connection)";
    if (o.metrics < 1 || o.metrics > 256)
        return "--metrics " + std::to_string(o.metrics) +
               " is out of range: expected 1 to 256 (the gateway's limit)";
    if (o.device_prefix.empty() || !valid_identifier_chars(o.device_prefix) ||
        o.device_prefix.size() + 1 + std::to_string(o.connections).size() > 128)
        return "--device-prefix '" + o.device_prefix +
               "' is invalid: device names are 1 to 128 characters of [A-Za-z0-9._:-]";
    if (o.mode == Mode::open && o.interval.count() < 1)
        return "--interval must be at least 1 ms";
    if (o.mode != Mode::hold && o.duration.count() < 1)
        return "--duration must be positive";
    if (o.mode == Mode::hold && o.hold.count() < 0)
        return "--hold must not be negative";
    if (o.sources > 254)
        return "--sources " + std::to_string(o.sources) +
               " is out of range: expected 0 (auto) to 254 (127.0.0.2 to 127.0.0.255)";
    if (o.ramp_rate < 0)
        return "--ramp-rate must not be negative (0: unlimited)";
    if (o.max_connecting < 1)
        return "--max-connecting must be at least 1";
    if (o.connect_timeout.count() < 1 || o.request_timeout.count() < 1)
        return "--connect-timeout and --request-timeout must be at least 1 ms";
    if (o.progress_period.count() < 1)
        return "the progress period must be at least 1 ms";
    if (!o.ca_file.empty() && !o.tls)
        return "--ca needs --tls";
    if (o.token.find_first_of(" \t\r\n") != std::string::npos)
        return "--token must not contain blanks or line breaks";
    return {};
}

Report run(const Options& options, const ProgressCallback& progress)
{
    Report report;
    report.options = options;
    if (auto err = validate(options); !err.empty()) {
        report.fatal = err;
        return report;
    }

    const std::int64_t fd_limit = metrics::raise_fd_limit();
    report.fd_limit = fd_limit < 0 ? UINT64_MAX : static_cast<std::uint64_t>(fd_limit);
    if (options.connections + kFdReserve > report.fd_limit) {
        report.fatal = "--connections " + std::to_string(options.connections) + " needs about " +
                       std::to_string(options.connections + kFdReserve) +
                       " file descriptors, but this process may open at most " +
                       std::to_string(report.fd_limit) + " (RLIMIT_NOFILE hard limit): use at most " +
                       std::to_string(report.fd_limit > kFdReserve ? report.fd_limit - kFdReserve : 0) +
                       " connections, or raise the hard limit (ulimit -Hn, limits.conf, systemd LimitNOFILE)";
        return report;
    }

    Session s;
    s.opt = options;
    {
        const auto [host, port] = split_host_port(options.target);
        asio::io_context resolve_io;
        tcp::resolver resolver(resolve_io);
        error_code ec;
        const auto results = resolver.resolve(host, port, ec);
        if (ec || results.empty()) {
            report.fatal = "cannot resolve --target '" + options.target + "': " + ec.message();
            return report;
        }
        s.target = results.begin()->endpoint();
        s.host = host;
        error_code not_an_address;
        asio::ip::make_address(host, not_an_address);
        s.sni = static_cast<bool>(not_an_address);
        report.target_address = s.target.address().to_string() + ":" + std::to_string(s.target.port());
    }

    if (options.tls) {
        s.tls = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
        if (options.ca_file.empty()) {
            s.tls->set_verify_mode(asio::ssl::verify_none);
        } else {
            error_code ec;
            s.tls->load_verify_file(options.ca_file, ec);
            if (ec) {
                report.fatal = "--ca " + options.ca_file + ": cannot load PEM certificates: " + ec.message();
                return report;
            }
            s.tls->set_verify_mode(asio::ssl::verify_peer);
        }
    }

    // Source addresses only make sense towards a loopback target: 127.0.0.2.. reach nothing else.
    const bool loopback_v4 =
        s.target.address().is_v4() && (s.target.address().to_v4().to_uint() >> 24) == 127;
    if (loopback_v4) {
        // 127.0.0.2 and up, as many as the host has; only 127.0.0.1 where no other is configured (macOS).
        const std::size_t wanted = options.sources ? options.sources : auto_sources(options);
        s.sources = usable_loopback_sources(wanted);
        const std::size_t n = s.sources.size();
        const std::size_t per_source = (options.connections + n - 1) / n;
        if (const std::size_t ports = ephemeral_ports(); ports > 0 && per_source > ports) {
            report.fatal = "--connections " + std::to_string(options.connections) + " over " +
                           std::to_string(n) + " source address(es) needs " + std::to_string(per_source) +
                           " ephemeral ports per address, but net.ipv4.ip_local_port_range holds " +
                           std::to_string(ports) + ": use --sources " +
                           std::to_string((options.connections + ports - 1) / ports) + " or more";
            if (n < wanted)
                report.fatal += " (this host lets only " + std::to_string(n) + " of the " +
                                std::to_string(wanted) +
                                " loopback addresses from 127.0.0.2 be bound: add the others to the loopback "
                                "interface)";
            return report;
        }
        for (const auto& a : s.sources)
            report.sources.push_back(a.to_string());
    } else if (options.sources > 0) {
        report.fatal =
            "--sources needs a target in 127.0.0.0/8; " + report.target_address + " is not loopback";
        return report;
    }

    const unsigned threads =
        options.threads ? options.threads : std::max(1u, std::thread::hardware_concurrency());
    report.threads = threads;
    for (unsigned i = 0; i < threads; ++i) {
        s.workers.push_back(std::make_unique<Worker>());
        s.workers.back()->source_connects.assign(s.sources.size(), 0);
    }

    std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
    std::vector<std::thread> pool;
    for (auto& w : s.workers) {
        guards.push_back(asio::make_work_guard(w->io));
        pool.emplace_back([&io = w->io] { io.run(); });
    }

    // Ramp: spawn every device, bounded by connects in flight and by the optional rate.
    const auto ramp_start = Clock::now();
    const double cpu_start = metrics::process_cpu_seconds();
    std::size_t launched = 0;
    auto spawn_some = [&] {
        const auto now = Clock::now();
        while (launched < options.connections &&
               s.connecting.load(std::memory_order_relaxed) < options.max_connecting) {
            if (options.ramp_rate > 0) {
                const auto due =
                    ramp_start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(
                                     static_cast<double>(launched) / options.ramp_rate));
                if (due > now)
                    break;
            }
            Worker& w = *s.workers[launched % threads];
            s.connecting.fetch_add(1, std::memory_order_relaxed);
            asio::co_spawn(w.io, device_main(s, w, launched), [&s, &w](const std::exception_ptr& e) {
                if (e) {
                    try {
                        std::rethrow_exception(e);
                    } catch (const std::exception& ex) {
                        ++w.errors.other;
                        ++w.error_messages[std::string("unexpected: ") + ex.what()];
                    }
                }
                s.finished.fetch_add(1, std::memory_order_relaxed);
                s.notify();
            });
            ++launched;
        }
    };
    wait_reporting(
        s, Phase::ramp, ramp_start, progress,
        [&] { return s.ramped.load(std::memory_order_relaxed) >= options.connections; }, spawn_some,
        std::chrono::milliseconds(options.ramp_rate > 0 ? 5 : 100));
    report.ramp_seconds = seconds_between(ramp_start, Clock::now());

    // Open the gate on every worker. Posting keeps each worker's gate state on its own thread.
    const auto start = Clock::now();
    const double cpu_run_start = metrics::process_cpu_seconds();
    for (auto& w : s.workers) {
        asio::post(w->io, [&w = *w, start] {
            w.start = start;
            w.gate_open = true;
            w.gate.cancel();
        });
    }
    auto all_finished = [&] { return s.finished.load(std::memory_order_relaxed) >= options.connections; };
    if (options.mode == Mode::hold) {
        // The check begins when the hold ends; the measured window is the check alone.
        const auto check_start = start + options.hold;
        wait_reporting(s, Phase::hold, ramp_start, progress,
                       [&] { return Clock::now() >= check_start || all_finished(); });
        wait_reporting(s, Phase::check, ramp_start, progress, all_finished);
        report.run_seconds = seconds_between(check_start, Clock::now());
    } else {
        wait_reporting(s, Phase::run, ramp_start, progress, all_finished);
        report.run_seconds = seconds_between(start, Clock::now());
    }

    guards.clear();
    for (auto& t : pool)
        t.join();
    report.wall_seconds = seconds_between(ramp_start, Clock::now());
    const double cpu_end = metrics::process_cpu_seconds();
    report.cpu_seconds = cpu_end - cpu_start;
    report.run_cpu_seconds = cpu_end - cpu_run_start;

    Histogram latency;
    report.source_connects.assign(s.sources.size(), 0);
    for (auto& w : s.workers) {
        latency.merge(w->latency);
        for (auto [code, n] : w->status)
            report.status[code] += n;
        report.errors.add(w->errors);
        for (auto& [msg, n] : w->error_messages)
            report.error_messages[msg] += n;
        for (std::size_t i = 0; i < s.sources.size(); ++i)
            report.source_connects[i] += w->source_connects[i];
        report.opened += w->opened;
        report.refused += w->refused;
        report.failed += w->failed;
        report.reconnects += w->reconnects;
        report.sent += w->sent;
        report.unsent += w->unsent;
        report.responses += w->responses;
        report.ok += w->ok;
        report.held += w->held;
        report.hold_answered += w->hold_answered;
        report.hold_failed += w->hold_failed;
    }
    report.latency = latency.summary();
    if (report.run_seconds > 0) {
        report.achieved_rps = static_cast<double>(report.responses) / report.run_seconds;
        report.ok_rps = static_cast<double>(report.ok) / report.run_seconds;
    }
    if (options.mode == Mode::open)
        report.target_rps =
            static_cast<double>(options.connections) * 1000.0 / static_cast<double>(options.interval.count());

    if (progress) {
        Progress p = tally(s, Phase::done, Clock::now(), ramp_start);
        p.phase_started = true;
        progress(p);
    }
    return report;
}

} // namespace fleetscope::sim
