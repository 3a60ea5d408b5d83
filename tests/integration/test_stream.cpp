// SPDX-License-Identifier: GPL-3.0-or-later
// The connection layer with a handler of its own (net::Handler), over real loopback sockets: responses whose
// body a handler writes over time (Reply::stream, as Server-Sent Events need), chunked to HTTP/1.1 and
// delimited by the close to HTTP/1.0, none to HEAD, cancelled by a graceful stop, and cut by the write
// deadline when the peer stops reading. Links the connection layer alone: no store, no endpoints.
#include "core/metrics/registry.hpp"
#include "core/net/listener.hpp"
#include "core/net/server.hpp"
#include "core/runtime/worker.hpp"
#include "support/raw_client.hpp"

#include <QTest>
#include <boost/fiber/operations.hpp>

#include <atomic>
#include <cerrno>
#include <future>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace fleetscope;
using std::chrono::milliseconds;
using std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

/// Parks the connection's fiber 5 ms at a time until `done` holds.
template <class Done>
void wait_until(Done done)
{
    while (!done())
        boost::this_fiber::sleep_for(5ms);
}

/// What the test's handler did, read by the test thread while the worker runs it.
struct Counts {
    std::atomic<int> allowed{0};       // events the Events stream may write
    std::atomic<int> runs{0};          // streams started
    std::atomic<int> cancelled{0};     // Hold streams ended by cancel()
    std::atomic<int> refused_write{0}; // Flood streams that saw a write fail
};

/// Writes event i once the test allowed it, for `n` events.
class Events final : public net::BodyStream {
public:
    Events(Counts& counts, int n)
        : counts_(counts)
        , n_(n)
    {}
    void run(net::StreamWriter& out) override
    {
        ++counts_.runs;
        for (int i = 0; i < n_; ++i) {
            wait_until([&] { return counts_.allowed.load() > i || !out.open(); });
            if (!out.write("data: " + std::to_string(i) + "\n\n"))
                return;
        }
    }

private:
    Counts& counts_;
    int n_;
};

/// Opens, then waits for cancel() alone, as a stream waiting on events would.
class Hold final : public net::BodyStream {
public:
    explicit Hold(Counts& counts)
        : counts_(counts)
    {}
    void run(net::StreamWriter& out) override
    {
        ++counts_.runs;
        if (!out.write(": open\n\n"))
            return;
        wait_until([&] { return cancel_; });
        ++counts_.cancelled;
    }
    void cancel() noexcept override { cancel_ = true; }

private:
    Counts& counts_;
    bool cancel_ = false; // worker thread only
};

/// Writes 64 KB pieces until a write fails.
class Flood final : public net::BodyStream {
public:
    explicit Flood(Counts& counts)
        : counts_(counts)
    {}
    void run(net::StreamWriter& out) override
    {
        ++counts_.runs;
        const std::string piece(64 * 1024, 'x');
        while (out.write(piece)) {
        }
        ++counts_.refused_write;
    }

private:
    Counts& counts_;
};

class StreamingHandler final : public net::Handler {
public:
    explicit StreamingHandler(Counts& counts)
        : counts_(counts)
    {}

    void on_open(net::Session&, const boost::asio::ip::address&) override {}

    std::optional<net::Response> check_header(const net::Request&, net::Session&) override
    {
        return std::nullopt;
    }

    net::Reply handle(net::Request& request, net::Session&) override
    {
        const std::string_view target = request.target();
        const auto head = [&] {
            return net::make_response(net::bhttp::status::ok, {}, "text/event-stream", request);
        };
        if (target == "/events")
            return net::Reply(head(), std::make_unique<Events>(counts_, 3));
        if (target == "/hold")
            return net::Reply(head(), std::make_unique<Hold>(counts_));
        if (target == "/flood")
            return net::Reply(head(), std::make_unique<Flood>(counts_));
        return net::make_response(net::bhttp::status::ok, "plain", "text/plain", request);
    }

    void on_close(net::Session&) noexcept override {}

private:
    Counts& counts_;
};

using testing::RawClient;

} // namespace

class TestStream : public QObject {
    Q_OBJECT

private slots:
    void init();
    void cleanup();

    void piecesArriveAsTheyAreWritten();
    void http10GetsABodyDelimitedByTheClose();
    void headRunsNoStream();
    void gracefulStopCancelsAWaitingStream();
    void writeDeadlineCutsAStalledStream();

private:
    /// Stops the server as Gateway::stop does; false when the last fiber did not end within 5 s.
    bool stop_server();

    Counts counts_;
    std::unique_ptr<StreamingHandler> handler_;
    std::unique_ptr<metrics::Registry> registry_;
    std::unique_ptr<runtime::Runtime> runtime_;
    std::unique_ptr<net::Listener> listener_;
    std::unique_ptr<net::Server> server_;
    std::uint16_t port_ = 0;
    bool stopped_ = false;
};

void TestStream::init()
{
    counts_.allowed = 0;
    counts_.runs = 0;
    counts_.cancelled = 0;
    counts_.refused_write = 0;
    Settings s;
    s.listen = "127.0.0.1:0";
    s.workers = 1;
    s.stack_cache_per_worker = 4;
    s.write_timeout = milliseconds(300);
    handler_ = std::make_unique<StreamingHandler>(counts_);
    registry_ = std::make_unique<metrics::Registry>(1);
    runtime_ = std::make_unique<runtime::Runtime>(1, runtime::WorkerOptions{s.fiber_stack_bytes, 4});
    listener_ = std::make_unique<net::Listener>(runtime_->worker(0).io(), s.listen, s.backlog);
    server_ = std::make_unique<net::Server>(*runtime_, *handler_, *registry_, s, 1000);
    runtime_->start();
    server_->start(*listener_);
    port_ = listener_->port();
    stopped_ = false;
}

bool TestStream::stop_server()
{
    if (stopped_)
        return true;
    stopped_ = true;
    server_->stop();
    runtime_->stop();
    auto joined = std::async(std::launch::async, [this] { runtime_->join(); });
    return joined.wait_for(5s) == std::future_status::ready;
}

void TestStream::cleanup()
{
    QVERIFY2(stop_server(), "a connection fiber did not end within 5 s of the stop");
    server_.reset();
    listener_.reset();
    runtime_.reset();
}

void TestStream::piecesArriveAsTheyAreWritten()
{
    RawClient c(port_);
    QVERIFY(c.connected());
    QVERIFY(c.send("GET /events HTTP/1.1\r\nHost: x\r\n\r\n"));
    // Each event is written only once the client saw the one before: the body reaches the client piece by
    // piece, while the handler is still producing it.
    for (int i = 0; i < 3; ++i) {
        counts_.allowed = i + 1;
        QVERIFY2(c.read_until("data: " + std::to_string(i) + "\n\n"), c.received().c_str());
    }
    QVERIFY2(c.read_until("\r\n0\r\n\r\n"), "no last chunk after the stream ended");
    const std::string& r = c.received();
    QVERIFY2(r.starts_with("HTTP/1.1 200 OK\r\n"), r.c_str());
    QVERIFY2(r.find("Transfer-Encoding: chunked\r\n") != std::string::npos, r.c_str());
    QVERIFY2(r.find("Content-Length") == std::string::npos, r.c_str());
    QVERIFY2(r.find("Content-Type: text/event-stream\r\n") != std::string::npos, r.c_str());
    // The connection carries on after a chunked stream.
    const auto before = r.size();
    QVERIFY(c.send("GET /plain HTTP/1.1\r\nHost: x\r\n\r\n"));
    QVERIFY2(c.read_until("plain"), c.received().c_str());
    QVERIFY(c.received().substr(before).starts_with("HTTP/1.1 200 OK\r\n"));
}

void TestStream::http10GetsABodyDelimitedByTheClose()
{
    // RFC 9112 6.1: no Transfer-Encoding to HTTP/1.0, so the body ends with the connection.
    RawClient c(port_);
    QVERIFY(c.connected());
    counts_.allowed = 3;
    QVERIFY(c.send("GET /events HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    QVERIFY2(c.read_to_end(), c.received().c_str());
    const std::string& r = c.received();
    const auto body_at = r.find("\r\n\r\n");
    QVERIFY(body_at != std::string::npos);
    const std::string head = r.substr(0, body_at);
    QVERIFY2(head.find("Transfer-Encoding") == std::string::npos, head.c_str());
    QVERIFY2(head.find("Content-Length") == std::string::npos, head.c_str());
    QVERIFY2(head.find("Connection: close") != std::string::npos, head.c_str());
    QCOMPARE(r.substr(body_at + 4), std::string("data: 0\n\ndata: 1\n\ndata: 2\n\n"));
}

void TestStream::headRunsNoStream()
{
    RawClient c(port_);
    QVERIFY(c.connected());
    QVERIFY(c.send("HEAD /events HTTP/1.1\r\nHost: x\r\n\r\nGET /plain HTTP/1.1\r\nHost: x\r\n\r\n"));
    QVERIFY2(c.read_until("plain"), c.received().c_str());
    const std::string& r = c.received();
    const auto second = r.find("HTTP/1.1 200 OK\r\n", 1);
    QVERIFY2(second != std::string::npos, r.c_str());
    // The first response ends with its header: the next one follows at once.
    QVERIFY2(r.substr(0, second).ends_with("\r\n\r\n"), r.c_str());
    QCOMPARE(counts_.runs.load(), 0);
}

void TestStream::gracefulStopCancelsAWaitingStream()
{
    RawClient c(port_);
    QVERIFY(c.connected());
    QVERIFY(c.send("GET /hold HTTP/1.1\r\nHost: x\r\n\r\n"));
    QVERIFY2(c.read_until(": open\n\n"), c.received().c_str());
    QVERIFY2(stop_server(), "the stream kept the stop waiting");
    QCOMPARE(counts_.cancelled.load(), 1);
    QVERIFY2(c.read_to_end(), "the connection did not close");
    QVERIFY2(c.received().ends_with("\r\n0\r\n\r\n"), c.received().c_str());
}

void TestStream::writeDeadlineCutsAStalledStream()
{
    // The client never reads, and its small receive buffer fills: the write deadline (300 ms) ends the
    // stream.
    RawClient c(port_, 4096);
    QVERIFY(c.connected());
    QVERIFY(c.send("GET /flood HTTP/1.1\r\nHost: x\r\n\r\n"));
    const auto t0 = steady_clock::now();
    while (counts_.refused_write.load() == 0 && steady_clock::now() - t0 < 10s)
        std::this_thread::sleep_for(10ms);
    QCOMPARE(counts_.runs.load(), 1);
    QVERIFY2(counts_.refused_write.load() == 1, "the stream's writes went on past write-timeout");
}

QTEST_GUILESS_MAIN(TestStream)
#include "test_stream.moc"
