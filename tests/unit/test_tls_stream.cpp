// SPDX-License-Identifier: GPL-3.0-or-later
// net::TlsStream on real loopback sockets: a runtime worker serves with the gateway's TLS context, and a
// plain OpenSSL client on the test thread can send records whole, in pieces or several at once. Covered: a
// response's buffers gathered into one record, records split across segments and several in one segment,
// peers that close mid-record or without close_notify, renegotiation refused, a write cut off by its
// deadline, a deadline that passed while a wait's completion was queued, a session that parks without a
// fiber and resumes, a plain HTTP request on the TLS port, and what an idle session holds.
#include "core/net/tls.hpp"
#include "core/net/tls_stream.hpp"
#include "core/runtime/worker.hpp"
#include "support/openssl_allocations.hpp"
#include "support/tls_certificate.hpp"

#include <QTemporaryDir>
#include <QTest>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <arpa/inet.h>
#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace fleetscope;
namespace asio = boost::asio;
using boost::system::error_code;
using namespace std::chrono_literals;

namespace {

// --- the client ------------------------------------------------------------------------------------------

/// A blocking TLS client on the test thread: OpenSSL over a plain socket with 5 s send and receive timeouts,
/// so that a server that never answers fails the test instead of hanging it.
class Client {
public:
    explicit Client(std::uint16_t port, int max_version = 0)
        : ctx_(SSL_CTX_new(TLS_client_method()))
    {
        if (max_version != 0)
            SSL_CTX_set_max_proto_version(ctx_, max_version);
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        const timeval timeout{5, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
        ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
        const int one = 1;
        ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(port);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
        ssl_ = SSL_new(ctx_);
        SSL_set_fd(ssl_, fd_);
        SSL_set_msg_callback(ssl_, &Client::on_message);
        SSL_set_msg_callback_arg(ssl_, this);
    }
    ~Client()
    {
        SSL_free(ssl_);
        SSL_CTX_free(ctx_);
        if (fd_ >= 0)
            ::close(fd_);
    }
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    bool handshake() { return connected_ && SSL_connect(ssl_) == 1; }

    bool write(std::string_view bytes)
    {
        std::size_t n = 0;
        return SSL_write_ex(ssl_, bytes.data(), bytes.size(), &n) == 1 && n == bytes.size();
    }

    /// Reads until `n` bytes of application data arrived; fewer when the connection ends or times out.
    std::string read(std::size_t n)
    {
        std::string out;
        char chunk[4096];
        while (out.size() < n) {
            std::size_t got = 0;
            if (SSL_read_ex(ssl_, chunk, std::min(sizeof chunk, n - out.size()), &got) != 1)
                break;
            out.append(chunk, got);
        }
        return out;
    }

    /// The records that carry `data`, encrypted and not sent, for the test to send as it likes.
    std::string seal(std::string_view data)
    {
        BIO* socket_bio = SSL_get_rbio(ssl_);
        BIO* mem = BIO_new(BIO_s_mem());
        SSL_set0_wbio(ssl_, mem); // the socket BIO lives on as the read BIO
        std::size_t n = 0;
        SSL_write_ex(ssl_, data.data(), data.size(), &n);
        char* p = nullptr;
        const long len = BIO_get_mem_data(mem, &p);
        std::string records(p, static_cast<std::size_t>(len));
        BIO_up_ref(socket_bio);
        SSL_set0_wbio(ssl_, socket_bio); // frees the memory BIO
        return records;
    }

    bool send_raw(std::string_view bytes)
    {
        while (!bytes.empty()) {
            const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
            if (n <= 0)
                return false;
            bytes.remove_prefix(static_cast<std::size_t>(n));
        }
        return true;
    }

    void shutdown_write() { ::shutdown(fd_, SHUT_WR); }
    void close_notify() { SSL_shutdown(ssl_); }
    /// Closes with a TCP reset: SO_LINGER with a zero timeout.
    void reset()
    {
        const linger l{1, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
        ::close(fd_);
        fd_ = -1;
    }

    SSL* ssl() { return ssl_; }
    int fd() const { return fd_; }
    /// Records of application data received so far (TLS 1.3 names their type inside the record).
    int data_records() const { return data_records_; }

private:
    static void on_message(int write_p, int, int content_type, const void* buf, std::size_t len, SSL*,
                           void* arg)
    {
        auto* self = static_cast<Client*>(arg);
        if (write_p == 0 && content_type == SSL3_RT_INNER_CONTENT_TYPE && len == 1 &&
            *static_cast<const unsigned char*>(buf) == SSL3_RT_APPLICATION_DATA)
            ++self->data_records_;
    }

    SSL_CTX* ctx_;
    SSL* ssl_ = nullptr;
    int fd_ = -1;
    bool connected_ = false;
    int data_records_ = 0;
};

// --- the server ------------------------------------------------------------------------------------------

/// One accepted connection on the server's worker: its socket and TLS session, kept past the fiber that
/// accepted it so that a session can park. Worker thread only.
struct Session {
    Session(net::Socket s, SSL_CTX* ctx, const std::atomic<bool>& deadline_passed)
        : socket(std::move(s))
        , tls(socket, ctx, &Session::passed, &deadline_passed)
    {}
    static bool passed(const void* flag) noexcept
    {
        return static_cast<const std::atomic<bool>*>(flag)->load(std::memory_order_relaxed);
    }
    net::Socket socket;
    net::TlsStream tls;
};

#if defined(__SANITIZE_ADDRESS__)
constexpr std::size_t kServerStackBytes = 64 * 1024;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr std::size_t kServerStackBytes = 64 * 1024;
#else
constexpr std::size_t kServerStackBytes = 16 * 1024;
#endif
#else
constexpr std::size_t kServerStackBytes = 16 * 1024;
#endif

/// What a server fiber found: empty when all went as the test expects, else what did not.
using Verdict = std::string;
using Body = std::function<Verdict(Session&)>;

/// A runtime with one worker that accepts TLS connections with the gateway's context (make_tls_context) and
/// serves each with a test's body on a fiber. Owned by the test thread; sessions live on the worker.
class Server {
public:
    explicit Server(const std::string& dir)
        // The smallest fiber stack the settings allow (fiber-stack-bytes): OpenSSL's handshake, signature and
        // key exchange included, runs on the connection fiber's stack. It needs under 12 KB here;
        // AddressSanitizer's redzones make every frame larger, so its builds get four times that.
        : runtime_(1, {kServerStackBytes, 16})
    {
        const std::string cert = dir + "/cert.pem";
        const std::string key = dir + "/key.pem";
        if (!testing::write_self_signed(cert, key))
            throw std::runtime_error("cannot write a test certificate");
        ctx_ = net::make_tls_context(cert, key);
        runtime_.start();
        acceptor_.emplace(runtime_.worker(0).io(),
                          asio::ip::tcp::endpoint(asio::ip::address_v4::loopback(), 0));
        port_ = acceptor_->local_endpoint().port();
    }
    ~Server()
    {
        run_on_worker([this] {
            sessions_.clear();
            acceptor_.reset();
        });
        runtime_.stop();
        runtime_.join();
    }

    std::uint16_t port() const { return port_; }
    SSL_CTX* ctx() { return ctx_->native_handle(); }
    runtime::Worker& worker() { return runtime_.worker(0); }

    /// Accepts one connection and runs `body` on its session, in a fiber; the verdict arrives in the future.
    std::future<Verdict> serve(Body body)
    {
        auto done = std::make_shared<std::promise<Verdict>>();
        auto verdict = done->get_future();
        worker().post_spawn([this, done, body = std::move(body)] {
            error_code ec;
            net::Socket socket = acceptor_->async_accept(runtime::this_worker_io(), runtime::yield[ec]);
            if (ec) {
                done->set_value("accept: " + ec.message());
                return;
            }
            sessions_.push_back(std::make_unique<Session>(std::move(socket), ctx(), deadline_passed));
            done->set_value(body(*sessions_.back()));
        });
        return verdict;
    }

    /// Runs `f` on the worker's thread and waits for it.
    template <class F>
    void run_on_worker(F f)
    {
        std::promise<void> done;
        asio::post(worker().io(), [&] {
            f();
            done.set_value();
        });
        done.get_future().wait();
    }

    /// The sessions' deadline, as a connection's: true ends their operations at the next wait.
    std::atomic<bool> deadline_passed{false};

private:
    runtime::Runtime runtime_;
    std::unique_ptr<asio::ssl::context> ctx_;
    std::optional<asio::basic_socket_acceptor<asio::ip::tcp, asio::io_context::executor_type>> acceptor_;
    std::uint16_t port_ = 0;
    std::vector<std::unique_ptr<Session>> sessions_;
};

Verdict handshake(Session& s)
{
    error_code ec;
    s.tls.async_handshake(runtime::yield[ec]);
    if (ec)
        return "handshake: " + ec.message();
    if (!s.tls.handshaken())
        return "handshake: no error, but not handshaken";
    return {};
}

/// Reads exactly `n` bytes, parking on the socket only when OpenSSL holds nothing, as a connection does.
Verdict read_exactly(Session& s, std::size_t n, std::string& out)
{
    char chunk[512];
    while (out.size() < n) {
        error_code ec;
        const std::size_t got = s.tls.async_read_some(
            asio::buffer(chunk, std::min(sizeof chunk, n - out.size())), runtime::yield[ec]);
        if (ec)
            return "read after " + std::to_string(out.size()) + " bytes: " + ec.message();
        out.append(chunk, got);
    }
    return {};
}

const std::string kRequest = "POST /v1/telemetry HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}";

/// Reads one kRequest and checks that it arrived as sent.
Verdict read_request(Session& s)
{
    std::string request;
    if (auto v = read_exactly(s, kRequest.size(), request); !v.empty())
        return v;
    return request == kRequest ? Verdict() : "the request arrived as '" + request + "'";
}

/// The server's side of most cases: the handshake, then one request.
Verdict accept_request(Session& s)
{
    if (auto v = handshake(s); !v.empty())
        return v;
    return read_request(s);
}

Verdict write_all(Session& s, std::string_view bytes)
{
    error_code ec;
    asio::async_write(s.tls, asio::buffer(bytes), runtime::yield[ec]);
    return ec ? "write: " + ec.message() : Verdict();
}

/// Waits for a server fiber's verdict, at most 10 s.
Verdict await(std::future<Verdict>& f)
{
    if (f.wait_for(10s) != std::future_status::ready)
        return "the server fiber did not finish within 10 s";
    return f.get();
}

} // namespace

class TestTlsStream : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void cleanupTestCase();

    void buffersGatheredIntoOneRecord();
    void recordInPieces();
    void recordsInOneSegment();
    void peerCloses_data();
    void peerCloses();
    void renegotiationRefused();
    void writeCutOffByDeadline_data();
    void writeCutOffByDeadline();
    void deadlinePassedWhileWaitQueued();
    void parkedSessionResumes();
    void plainHttpOnTlsPort();
    void idleSessionHoldsNoRecordBuffers();

private:
    QTemporaryDir dir_;
    std::unique_ptr<Server> server_;
};

void TestTlsStream::initTestCase()
{
    QVERIFY2(testing::openssl_counting_installed(),
             "CRYPTO_set_mem_functions came after OpenSSL's first allocation");
    testing::exclude_this_thread_from_openssl_count(); // the client's side
    QVERIFY(dir_.isValid());
    server_ = std::make_unique<Server>(dir_.path().toStdString());
}

void TestTlsStream::cleanupTestCase()
{
    server_.reset();
}

void TestTlsStream::buffersGatheredIntoOneRecord()
{
    // A response's header and body are two buffers: they go out as one record, on the fiber path and
    // through a composed write alike.
    const std::string header = "HTTP/1.1 200 OK\r\nContent-Length: 600\r\n\r\n";
    const std::string body(600, 'b');
    auto verdict = server_->serve([&](Session& s) -> Verdict {
        if (auto v = handshake(s); !v.empty())
            return v;
        for (int i = 0; i < 2; ++i) {
            if (auto v = read_request(s); !v.empty())
                return "request " + std::to_string(i) + ": " + v;
            const std::array<asio::const_buffer, 2> response{asio::buffer(header), asio::buffer(body)};
            error_code ec;
            std::size_t n = 0;
            if (i == 0)
                n = s.tls.async_write_some(response, runtime::yield[ec]);
            else
                n = asio::async_write(s.tls, response, runtime::yield[ec]);
            if (ec || n != header.size() + body.size())
                return "write " + std::to_string(i) + ": " + ec.message() + ", " + std::to_string(n) +
                       " bytes";
        }
        return {};
    });
    Client c(server_->port());
    QVERIFY(c.handshake());
    for (int i = 0; i < 2; ++i) {
        const int before = c.data_records();
        QVERIFY(c.write(kRequest));
        QCOMPARE(c.read(header.size() + body.size()), header + body);
        QCOMPARE(c.data_records() - before, 1);
    }
    const Verdict v = await(verdict);
    QVERIFY2(v.empty(), v.c_str());
}

void TestTlsStream::recordInPieces()
{
    auto verdict = server_->serve([](Session& s) -> Verdict { return accept_request(s); });
    Client c(server_->port());
    QVERIFY(c.handshake());
    // The record's header split, then the rest in pieces of 7 bytes, each its own segment.
    const std::string record = c.seal(kRequest);
    QVERIFY(record.size() > kRequest.size());
    QVERIFY(c.send_raw(record.substr(0, 3)));
    std::this_thread::sleep_for(5ms);
    for (std::size_t at = 3; at < record.size(); at += 7) {
        QVERIFY(c.send_raw(record.substr(at, 7)));
        std::this_thread::sleep_for(1ms);
    }
    const Verdict v = await(verdict);
    QVERIFY2(v.empty(), v.c_str());
}

void TestTlsStream::recordsInOneSegment()
{
    // Two requests, two records, one segment: OpenSSL reads both at once, so after the first the second is
    // inside OpenSSL, where no readiness wait can see it. The server waits for readability only when
    // holds_input() says nothing is held, as a connection does; without it this would wait for ever.
    auto verdict = server_->serve([](Session& s) -> Verdict {
        if (auto v = handshake(s); !v.empty())
            return v;
        for (int i = 0; i < 2; ++i) {
            if (!s.tls.holds_input()) {
                if (i == 1)
                    return "the second record is not held after the first was read";
                error_code ec;
                s.socket.async_wait(net::Socket::wait_read, runtime::yield[ec]);
                if (ec)
                    return "wait: " + ec.message();
            }
            if (auto v = read_request(s); !v.empty())
                return "request " + std::to_string(i) + ": " + v;
        }
        return s.tls.holds_input() ? "input held after both requests were read" : Verdict();
    });
    Client c(server_->port());
    QVERIFY(c.handshake());
    const std::string first = c.seal(kRequest);
    const std::string second = c.seal(kRequest);
    QVERIFY(c.send_raw(first + second));
    const Verdict v = await(verdict);
    QVERIFY2(v.empty(), v.c_str());
}

void TestTlsStream::peerCloses_data()
{
    QTest::addColumn<QString>("how");
    QTest::addColumn<QString>("expected"); // the read's error, as error_code::message() says it
    const auto message = [](error_code ec) { return QString::fromStdString(ec.message()); };
    QTest::addRow("mid-record") << "mid-record" << message(asio::ssl::error::stream_truncated);
    QTest::addRow("between records, no close_notify")
        << "no close_notify" << message(asio::ssl::error::stream_truncated);
    QTest::addRow("close_notify") << "close_notify" << message(asio::error::eof);
    QTest::addRow("reset") << "reset" << message(asio::error::connection_reset);
}

void TestTlsStream::peerCloses()
{
    QFETCH(QString, how);
    QFETCH(QString, expected);
    auto verdict = server_->serve([](Session& s) -> Verdict {
        if (auto v = accept_request(s); !v.empty())
            return v;
        char byte = 0;
        error_code ec;
        const std::size_t n = s.tls.async_read_some(asio::buffer(&byte, 1), runtime::yield[ec]);
        if (!ec)
            return "read " + std::to_string(n) + " bytes after the peer left";
        s.tls.close_notify(); // must be harmless after any of these
        return ec.message();
    });
    Client c(server_->port());
    QVERIFY(c.handshake());
    QVERIFY(c.write(kRequest));
    if (how == QLatin1String("mid-record")) {
        const std::string record = c.seal(kRequest);
        QVERIFY(c.send_raw(record.substr(0, record.size() / 2)));
        c.shutdown_write();
    } else if (how == QLatin1String("no close_notify")) {
        c.shutdown_write();
    } else if (how == QLatin1String("close_notify")) {
        c.close_notify();
    } else {
        std::this_thread::sleep_for(20ms); // the request is read before the reset arrives
        c.reset();
    }
    QCOMPARE(QString::fromStdString(await(verdict)), expected);
}

void TestTlsStream::renegotiationRefused()
{
    // TLS 1.2 lets a client ask for a new handshake on an established connection; the gateway refuses.
    std::atomic<int> server_hellos{0};
    auto verdict = server_->serve([&](Session& s) -> Verdict {
        SSL_set_msg_callback_arg(s.tls.native_handle(), &server_hellos);
        SSL_set_msg_callback(s.tls.native_handle(), [](int write_p, int, int content_type, const void* buf,
                                                       std::size_t len, SSL*, void* arg) {
            if (write_p == 1 && content_type == SSL3_RT_HANDSHAKE && len > 0 &&
                *static_cast<const unsigned char*>(buf) == SSL3_MT_SERVER_HELLO)
                static_cast<std::atomic<int>*>(arg)->fetch_add(1);
        });
        if (auto v = accept_request(s); !v.empty())
            return v;
        // The renegotiation attempt arrives on this read; it ends with the client's alert, not with data.
        char byte = 0;
        error_code ec;
        s.tls.async_read_some(asio::buffer(&byte, 1), runtime::yield[ec]);
        if (!ec)
            return "read data after the renegotiation attempt";
        return {};
    });
    Client c(server_->port(), TLS1_2_VERSION);
    QVERIFY(c.handshake());
    QCOMPARE(SSL_version(c.ssl()), TLS1_2_VERSION);
    QVERIFY(c.write(kRequest));
    QCOMPARE(SSL_renegotiate(c.ssl()), 1);
    QVERIFY2(SSL_do_handshake(c.ssl()) != 1, "the server accepted a renegotiation");
    ERR_clear_error();
    c.shutdown_write(); // whether or not the client's alert reached the server, its read ends
    const Verdict v = await(verdict);
    QVERIFY2(v.empty(), v.c_str());
    QCOMPARE(server_hellos.load(), 1);
}

void TestTlsStream::writeCutOffByDeadline_data()
{
    QTest::addColumn<bool>("composed"); // through asio::async_write's own handler, else on the fiber
    QTest::addRow("fiber") << false;
    QTest::addRow("composed") << true;
}

void TestTlsStream::writeCutOffByDeadline()
{
    // A client that stops reading: the server's writes fill the socket and wait, until the deadline passes
    // and cancels the socket, as a connection's deadline timer does.
    QFETCH(bool, composed);
    server_->deadline_passed = false;
    auto verdict = server_->serve([&](Session& s) -> Verdict {
        const int small = 8192;
        s.socket.set_option(asio::socket_base::send_buffer_size(small));
        if (auto v = handshake(s); !v.empty())
            return v;
        asio::steady_timer deadline(runtime::this_worker_io(), 200ms);
        deadline.async_wait([&](error_code) {
            server_->deadline_passed = true;
            s.socket.cancel();
        });
        const std::string chunk(64 * 1024, 'x');
        error_code ec;
        std::size_t total = 0;
        while (!ec && total < 64u * 1024 * 1024) {
            if (composed)
                total += asio::async_write(s.tls, asio::buffer(chunk), runtime::yield[ec]);
            else
                total += s.tls.async_write_some(asio::buffer(chunk), runtime::yield[ec]);
        }
        deadline.cancel();
        s.tls.close_notify(); // OpenSSL holds a record of the interrupted write: nothing may be sent
        if (ec != asio::error::operation_aborted)
            return "the write ended with '" + ec.message() + "' after " + std::to_string(total) + " bytes";
        return {};
    });
    Client c(server_->port());
    const int small = 4096;
    ::setsockopt(c.fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    QVERIFY(c.handshake());
    const Verdict v = await(verdict);
    QVERIFY2(v.empty(), v.c_str());
    server_->deadline_passed = false;
}

void TestTlsStream::deadlinePassedWhileWaitQueued()
{
    // The deadline passes while the read waits, but no cancel reaches the wait (its completion was already
    // queued, say). When the next bytes arrive and the record is still incomplete, the read must end rather
    // than wait again.
    server_->deadline_passed = false;
    std::promise<void> waiting;
    auto verdict = server_->serve([&](Session& s) -> Verdict {
        if (auto v = handshake(s); !v.empty())
            return v;
        waiting.set_value();
        char chunk[64];
        error_code ec;
        s.tls.async_read_some(asio::buffer(chunk), runtime::yield[ec]);
        if (ec != asio::error::operation_aborted)
            return "the read ended with '" + ec.message() + "'";
        return {};
    });
    Client c(server_->port());
    QVERIFY(c.handshake());
    QCOMPARE(waiting.get_future().wait_for(5s), std::future_status::ready);
    const std::string record = c.seal(kRequest);
    QVERIFY(c.send_raw(record.substr(0, 3)));
    std::this_thread::sleep_for(20ms);
    server_->deadline_passed = true;
    QVERIFY(c.send_raw(record.substr(3, 4)));
    const Verdict v = await(verdict);
    server_->deadline_passed = false;
    QVERIFY2(v.empty(), v.c_str());
}

void TestTlsStream::parkedSessionResumes()
{
    // As an idle connection does: the fiber ends after a response, leaving the session and a readiness wait
    // that starts a fresh fiber when bytes arrive; that fiber reads on the same session.
    constexpr int kRounds = 3;
    auto resumed = std::make_shared<std::promise<Verdict>>();
    auto resumed_verdict = resumed->get_future();
    std::function<void(Session&, int)> park;
    park = [&](Session& s, int round) {
        s.socket.async_wait(net::Socket::wait_read, [&, round](error_code ec) {
            if (ec) {
                resumed->set_value("the parked wait ended with " + ec.message());
                return;
            }
            server_->worker().spawn([&, round] {
                Verdict v = read_request(s);
                if (v.empty())
                    v = write_all(s, "resumed " + std::to_string(round));
                if (!v.empty() || round == kRounds) {
                    resumed->set_value(v);
                    return;
                }
                if (s.tls.holds_input()) {
                    resumed->set_value("input held when parking");
                    return;
                }
                park(s, round + 1);
            });
        });
    };
    auto verdict = server_->serve([&](Session& s) -> Verdict {
        if (auto v = accept_request(s); !v.empty())
            return v;
        if (auto v = write_all(s, "first"); !v.empty())
            return v;
        if (s.tls.holds_input())
            return "input held when parking";
        park(s, 1);
        return {};
    });
    Client c(server_->port());
    QVERIFY(c.handshake());
    QVERIFY(c.write(kRequest));
    QCOMPARE(c.read(5), std::string("first"));
    const Verdict v = await(verdict);
    QVERIFY2(v.empty(), v.c_str());
    for (int round = 1; round <= kRounds; ++round) {
        std::this_thread::sleep_for(20ms); // parked: no fiber holds the session
        QVERIFY(c.write(kRequest));
        const std::string expected = "resumed " + std::to_string(round);
        QCOMPARE(c.read(expected.size()), expected);
    }
    const Verdict r = await(resumed_verdict);
    QVERIFY2(r.empty(), r.c_str());
}

void TestTlsStream::plainHttpOnTlsPort()
{
    // The connection answers such a client in plain HTTP; the stream's part is to say what happened.
    auto verdict = server_->serve([](Session& s) -> Verdict {
        error_code ec;
        s.tls.async_handshake(runtime::yield[ec]);
        if (ec.category() != asio::error::get_ssl_category() ||
            ERR_GET_REASON(ec.value()) != SSL_R_HTTP_REQUEST)
            return "the handshake ended with '" + ec.message() + "'";
        return s.tls.handshaken() ? "handshaken" : Verdict();
    });
    Client c(server_->port());
    QVERIFY(c.send_raw(kRequest));
    const Verdict v = await(verdict);
    QVERIFY2(v.empty(), v.c_str());
}

void TestTlsStream::idleSessionHoldsNoRecordBuffers()
{
    // Sessions that handshook, answered one request and went idle hold OpenSSL's per-connection state and
    // no record buffer (a record buffer alone is over 16 KB). Asio's ssl::stream held a BIO pair of two such
    // buffers per connection, allocated by OpenSSL too.
    constexpr int kSessions = 16;
    const auto exchange = [](Session& s) -> Verdict {
        if (auto v = accept_request(s); !v.empty())
            return v;
        return write_all(s, std::string(2000, 'r'));
    };
    const auto open = [&](std::vector<std::unique_ptr<Client>>& clients) {
        auto verdict = server_->serve(exchange);
        auto c = std::make_unique<Client>(server_->port());
        if (!c->handshake() || !c->write(kRequest) || c->read(2000).size() != 2000)
            return Verdict("the client's exchange failed");
        clients.push_back(std::move(c));
        return await(verdict);
    };
    std::vector<std::unique_ptr<Client>> warm;
    const Verdict w = open(warm); // OpenSSL's one-time allocations on this thread
    QVERIFY2(w.empty(), w.c_str());
    const long long before = testing::openssl_bytes_counted();
    std::vector<std::unique_ptr<Client>> clients;
    for (int i = 0; i < kSessions; ++i) {
        const Verdict v = open(clients);
        QVERIFY2(v.empty(), v.c_str());
    }
    const long long per_session = (testing::openssl_bytes_counted() - before) / kSessions;
    qInfo("OpenSSL holds %lld bytes per idle server session", per_session);
    QVERIFY(per_session > 0);
    QVERIFY2(
        per_session < 16 * 1024,
        qPrintable(QStringLiteral("%1 bytes per idle session: a record buffer is held").arg(per_session)));
}

QTEST_GUILESS_MAIN(TestTlsStream)
#include "test_tls_stream.moc"
