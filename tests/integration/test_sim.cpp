// SPDX-License-Identifier: GPL-3.0-or-later
// The fleet simulator against a small Beast HTTP server on loopback: counts, statuses, latencies, source
// addresses, hold checks, refusals, the readings and silent devices, and the report formats.
#include "core/sim/device_model.hpp"
#include "core/sim/simulator.hpp"

#include <QTest>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace sim = fleetscope::sim;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kTok = asio::as_tuple(asio::use_awaitable);

// A minimal telemetry endpoint: checks each body is the sample the simulator promises and answers 204. Runs
// its own io_context on one thread; the test thread reads the tallies through the mutex and atomics.
class TestServer {
public:
    enum class Behaviour {
        ok,                // 204 to everything well formed
        alternate_503,     // every second request gets 503 with Retry-After
        close_after_first, // answers once per connection, then closes it: held connections are lost
    };

    explicit TestServer(Behaviour b = Behaviour::ok)
        : behaviour_(b)
        , acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0))
    {
        asio::co_spawn(io_, accept_loop(), asio::detached);
        thread_ = std::thread([this] { io_.run(); });
    }

    ~TestServer()
    {
        io_.stop();
        thread_.join();
    }

    unsigned short port() const { return acceptor_.local_endpoint().port(); }
    std::string target() const { return "127.0.0.1:" + std::to_string(port()); }

    std::set<std::string> peers() const
    {
        std::lock_guard lock(mutex_);
        return peers_;
    }
    std::set<std::string> devices() const
    {
        std::lock_guard lock(mutex_);
        return devices_;
    }
    std::map<std::string, std::uint64_t> posts_by_device() const
    {
        std::lock_guard lock(mutex_);
        return posts_;
    }
    std::uint64_t requests() const { return requests_; }
    std::uint64_t malformed() const { return malformed_; }
    std::uint64_t readings() const { return readings_; }
    // Readings outside the range sim::kMetricSpecs gives a healthy device for that metric.
    std::uint64_t out_of_range() const { return out_of_range_; }

private:
    asio::awaitable<void> accept_loop()
    {
        for (;;) {
            auto [ec, socket] = co_await acceptor_.async_accept(kTok);
            if (ec)
                co_return;
            asio::co_spawn(io_, serve(std::move(socket)), asio::detached);
        }
    }

    bool well_formed(const http::request<http::string_body>& req, std::string& device)
    {
        if (req.method() != http::verb::post || req.target() != "/v1/telemetry" ||
            req[http::field::content_type] != "application/json")
            return false;
        boost::system::error_code ec;
        const auto v = boost::json::parse(req.body(), ec);
        if (ec || !v.is_object())
            return false;
        const auto& o = v.as_object();
        if (!o.contains("device") || !o.at("device").is_string() || !o.contains("ts") ||
            !o.at("ts").is_int64() || !o.contains("metrics") || !o.at("metrics").is_object() ||
            o.at("metrics").as_object().empty())
            return false;
        for (const auto& [name, value] : o.at("metrics").as_object()) {
            if (!value.is_number())
                return false;
            const double v = value.to_number<double>();
            const auto* spec = &fleetscope::sim::kGenericSpec;
            for (const auto& named : fleetscope::sim::kMetricSpecs)
                if (named.name == std::string_view(name))
                    spec = &named;
            ++readings_;
            if (v < spec->low || v > spec->high)
                ++out_of_range_;
        }
        device = std::string(o.at("device").as_string());
        return true;
    }

    asio::awaitable<void> serve(tcp::socket socket)
    {
        {
            std::lock_guard lock(mutex_);
            peers_.insert(socket.remote_endpoint().address().to_string());
        }
        beast::flat_buffer buffer;
        for (unsigned n = 0;; ++n) {
            http::request<http::string_body> req;
            auto [ec, bytes] = co_await http::async_read(socket, buffer, req, kTok);
            if (ec)
                co_return;
            const auto seq = requests_.fetch_add(1);
            std::string device;
            http::response<http::string_body> res;
            res.version(11);
            res.keep_alive(req.keep_alive());
            if (!well_formed(req, device)) {
                ++malformed_;
                res.result(http::status::bad_request);
                res.body() = R"({"error":"not the sample the simulator promises"})";
            } else if (behaviour_ == Behaviour::alternate_503 && seq % 2 == 1) {
                res.result(http::status::service_unavailable);
                res.set(http::field::retry_after, "1");
                res.body() = R"({"error":"overloaded"})";
            } else {
                res.result(http::status::no_content);
                std::lock_guard lock(mutex_);
                devices_.insert(device);
                ++posts_[device];
            }
            res.prepare_payload();
            auto [wec, wbytes] = co_await http::async_write(socket, res, kTok);
            if (wec || behaviour_ == Behaviour::close_after_first)
                co_return;
        }
    }

    Behaviour behaviour_;
    asio::io_context io_{1};
    tcp::acceptor acceptor_;
    std::thread thread_;
    mutable std::mutex mutex_;
    std::set<std::string> peers_;
    std::set<std::string> devices_;
    std::map<std::string, std::uint64_t> posts_; // 204s by device
    std::atomic<std::uint64_t> requests_{0};
    std::atomic<std::uint64_t> malformed_{0};
    std::atomic<std::uint64_t> readings_{0};
    std::atomic<std::uint64_t> out_of_range_{0};
};

sim::Options base_options(const TestServer& server)
{
    sim::Options o;
    o.target = server.target();
    o.connections = 8;
    o.sources = 2;
    o.threads = 2;
    o.duration = std::chrono::milliseconds(1000);
    o.device_prefix = "t";
    o.request_timeout = std::chrono::milliseconds(5000);
    o.connect_timeout = std::chrono::milliseconds(5000);
    return o;
}

// A loopback port with nothing listening: bound once to get a free number, then released.
unsigned short closed_port()
{
    asio::io_context io;
    tcp::acceptor a(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    return a.local_endpoint().port();
}

} // namespace

class TestSim : public QObject {
    Q_OBJECT

private slots:
    void invalidOptions_data()
    {
        QTest::addColumn<QString>("field");
        QTest::addColumn<QString>("expected");
        QTest::addRow("target without port") << "target"
                                             << "--target";
        QTest::addRow("zero connections") << "connections"
                                          << "--connections";
        QTest::addRow("too many metrics") << "metrics"
                                          << "--metrics";
        QTest::addRow("bad device prefix") << "prefix"
                                           << "--device-prefix";
        QTest::addRow("too many sources") << "sources"
                                          << "--sources";
        QTest::addRow("negative ramp rate") << "ramp"
                                            << "--ramp-rate";
        QTest::addRow("faulty share above 1") << "faulty"
                                              << "--faulty";
    }

    void invalidOptions()
    {
        QFETCH(QString, field);
        QFETCH(QString, expected);
        sim::Options o;
        if (field == "target")
            o.target = "localhost";
        else if (field == "connections")
            o.connections = 0;
        else if (field == "metrics")
            o.metrics = 257;
        else if (field == "prefix")
            o.device_prefix = "pump 17";
        else if (field == "sources")
            o.sources = 300;
        else if (field == "ramp")
            o.ramp_rate = -1;
        else if (field == "faulty")
            o.faulty = 1.5;
        const std::string err = sim::validate(o).error();
        QVERIFY2(QString::fromStdString(err).contains(expected), err.c_str());
        const sim::Report r = sim::run(o);
        QCOMPARE(r.fatal, err);
        QCOMPARE(r.exit_code(), 2);
    }

    void tooManyConnectionsIsFatal()
    {
        sim::Options o;
        o.connections = 50'000'000;
        const sim::Report r = sim::run(o);
        QVERIFY2(r.fatal.find("file descriptors") != std::string::npos, r.fatal.c_str());
        QCOMPARE(r.exit_code(), 2);
        QVERIFY(r.fd_limit > 0);
    }

    void closedLoop()
    {
        TestServer server;
        sim::Options o = base_options(server);
        std::vector<sim::Phase> phases;
        std::uint64_t last_responses = 0;
        o.progress_period = std::chrono::milliseconds(200);
        const sim::Report r = sim::run(o, [&](const sim::Progress& p) {
            if (p.phase_started)
                phases.push_back(p.phase);
            last_responses = std::max(last_responses, p.responses);
        });
        QVERIFY2(r.fatal.empty(), r.fatal.c_str());
        QCOMPARE(r.opened, std::uint64_t{8});
        QCOMPARE(r.refused + r.failed + r.reconnects, std::uint64_t{0});
        QVERIFY(r.responses > 100);
        QCOMPARE(r.ok, r.responses);
        QCOMPARE(r.status.size(), std::size_t{1});
        QCOMPARE(r.status.at(204), r.responses);
        QCOMPARE(r.errors.total(), std::uint64_t{0});
        QCOMPARE(server.malformed(), std::uint64_t{0});
        QCOMPARE(server.requests(), r.sent);
        QCOMPARE(r.latency.count, r.responses);
        QVERIFY(r.latency.p50_ms > 0);
        QVERIFY(r.latency.p50_ms <= r.latency.p90_ms && r.latency.p90_ms <= r.latency.p99_ms);
        QVERIFY(r.latency.p99_ms <= r.latency.p999_ms && r.latency.p999_ms <= r.latency.max_ms);
        QVERIFY2(r.latency.max_ms < 1000, qPrintable(QString::number(r.latency.max_ms)));
        QVERIFY(r.run_seconds >= 1.0 && r.run_seconds < 3.0);
        QVERIFY(r.achieved_rps > 0 && r.ok_rps == r.achieved_rps);
        QVERIFY(r.cpu_seconds > 0 && r.wall_seconds >= r.run_seconds);
        QCOMPARE(r.exit_code(), 0);
        // Both source addresses were used, evenly.
        QCOMPARE(server.peers(), (std::set<std::string>{"127.0.0.2", "127.0.0.3"}));
        QCOMPARE(r.sources, (std::vector<std::string>{"127.0.0.2", "127.0.0.3"}));
        QCOMPARE(r.source_connects, (std::vector<std::uint64_t>{4, 4}));
        // Every device posted under its own name.
        QCOMPARE(server.devices().size(), std::size_t{8});
        QVERIFY(server.devices().count("t-0") && server.devices().count("t-7"));
        QVERIFY(phases.size() >= 3);
        QCOMPARE(phases.front(), sim::Phase::ramp);
        QCOMPARE(phases[1], sim::Phase::run);
        QCOMPARE(phases.back(), sim::Phase::done);
        QCOMPARE(last_responses, r.responses);
    }

    void openLoopKeepsSchedule()
    {
        TestServer server;
        sim::Options o = base_options(server);
        o.mode = sim::Mode::open;
        o.connections = 20;
        o.interval = std::chrono::milliseconds(100);
        o.faulty = 0; // no silent devices: every slot is posted
        const sim::Report r = sim::run(o);
        QVERIFY2(r.fatal.empty(), r.fatal.c_str());
        QCOMPARE(r.target_rps, 200.0);
        // 20 devices x 10 posts each: the schedule is exact, so the count is too.
        QCOMPARE(r.responses, std::uint64_t{200});
        QCOMPARE(r.ok, std::uint64_t{200});
        QCOMPARE(r.unsent, std::uint64_t{0});
        QVERIFY2(r.achieved_rps > 150 && r.achieved_rps <= 210, qPrintable(QString::number(r.achieved_rps)));
        QVERIFY(r.latency.max_ms < 500);
        QCOMPARE(r.exit_code(), 0);
    }

    // Healthy devices send every metric within its realistic range (the simulator used to send uniform noise
    // over 0..1000: a battery at 900 V, a positive RSSI).
    void readingsArePlausible()
    {
        TestServer server;
        sim::Options o = base_options(server);
        o.metrics = 10; // the named metrics and three generic gauges
        o.faulty = 0;
        o.duration = std::chrono::milliseconds(500);
        const sim::Report r = sim::run(o);
        QVERIFY2(r.fatal.empty(), r.fatal.c_str());
        QVERIFY(r.ok > 50);
        QCOMPARE(server.malformed(), std::uint64_t{0});
        QCOMPARE(server.readings(), r.ok * 10);
        QCOMPARE(server.out_of_range(), std::uint64_t{0});
        QVERIFY(r.faults.empty());
    }

    // In open loop a silent device lets its slots pass: the server sees exactly the posts the fleet's model
    // says each device made, and the report counts the rest as silent, apart from errors.
    void silentDevicesHoldBack()
    {
        TestServer server;
        sim::Options o = base_options(server);
        o.mode = sim::Mode::open;
        o.connections = 40;
        o.interval = std::chrono::milliseconds(100);
        o.faulty = 1; // every device misbehaves, a quarter of them by falling silent
        o.seed = 5;
        const sim::Report r = sim::run(o);
        QVERIFY2(r.fatal.empty(), r.fatal.c_str());

        std::map<std::string, std::uint64_t> expected;
        std::uint64_t silent = 0;
        std::uint64_t faulty = 0;
        for (std::size_t i = 0; i < o.connections; ++i) {
            const sim::Fault f = sim::fault_of(o.seed, o.faulty, i);
            sim::DeviceModel model(o.seed, i, f, o.metrics, 0.1);
            std::uint64_t posts = 0;
            for (int slot = 0; slot < 10; ++slot) // 1 s of 100 ms slots
                model.advance() ? ++posts : ++silent;
            if (posts > 0)
                expected["t-" + std::to_string(i)] = posts;
        }
        for (const auto& [fault, n] : r.faults)
            faulty += n;
        QCOMPARE(faulty, std::uint64_t{40});
        QVERIFY2(silent > 0, "seed 5 must start some silent device inside its silence");
        QCOMPARE(r.silent, silent);
        QCOMPARE(r.responses + r.silent, std::uint64_t{400});
        QCOMPARE(r.target_rps, 400.0 - double(silent)); // over 1 s
        QCOMPARE(server.posts_by_device(), expected);
        QCOMPARE(r.errors.total(), std::uint64_t{0});
        QCOMPARE(r.unsent, std::uint64_t{0});
        const auto j = sim::to_json(r);
        QCOMPARE(j.at("requests").at("silent").as_uint64(), silent);
        QCOMPARE(j.at("faults").at("silent").as_uint64(), r.faults.at(sim::Fault::silent));
        QVERIFY(sim::format_text(r).find("held back by silent devices") != std::string::npos);
        QCOMPARE(r.exit_code(), 0);
    }

    void holdChecksEveryConnection()
    {
        TestServer server;
        sim::Options o = base_options(server);
        o.mode = sim::Mode::hold;
        o.hold = std::chrono::milliseconds(500);
        const sim::Report r = sim::run(o);
        QVERIFY2(r.fatal.empty(), r.fatal.c_str());
        QCOMPARE(r.held, std::uint64_t{8});
        QCOMPARE(r.hold_answered, std::uint64_t{8});
        QCOMPARE(r.hold_failed, std::uint64_t{0});
        QCOMPARE(r.responses, std::uint64_t{8}); // the measured window is the check
        QCOMPARE(r.status.at(204), std::uint64_t{16});
        QCOMPARE(server.requests(), std::uint64_t{16});
        QVERIFY(r.run_seconds < 2.0);
        QCOMPARE(r.exit_code(), 0);
    }

    void holdDetectsLostConnections()
    {
        TestServer server(TestServer::Behaviour::close_after_first);
        sim::Options o = base_options(server);
        o.mode = sim::Mode::hold;
        o.hold = std::chrono::milliseconds(300);
        const sim::Report r = sim::run(o);
        QVERIFY2(r.fatal.empty(), r.fatal.c_str());
        QCOMPARE(r.held, std::uint64_t{8});
        QCOMPARE(r.hold_answered, std::uint64_t{0});
        QCOMPARE(r.hold_failed, std::uint64_t{8});
        QCOMPARE(r.errors.total(), std::uint64_t{8});
        QCOMPARE(r.exit_code(), 1);
        QVERIFY(sim::format_text(r).find("held connections were lost") != std::string::npos);
    }

    void statusesCountedByCode()
    {
        TestServer server(TestServer::Behaviour::alternate_503);
        sim::Options o = base_options(server);
        o.connections = 4;
        o.duration = std::chrono::milliseconds(500);
        const sim::Report r = sim::run(o);
        QVERIFY2(r.fatal.empty(), r.fatal.c_str());
        QVERIFY(r.status.count(204) && r.status.count(503));
        QCOMPARE(r.status.at(204) + r.status.at(503), r.responses);
        QCOMPARE(r.ok, r.status.at(204));
        QVERIFY(r.ok_rps < r.achieved_rps);
        const auto j = sim::to_json(r);
        QCOMPARE(j.at("status_class").at("5xx").as_uint64(), r.status.at(503));
        QCOMPARE(j.at("status").at("503").as_uint64(), r.status.at(503));
        QCOMPARE(r.exit_code(), 0); // a 503 is backpressure, not a failure of the closed loop
    }

    void refusedConnections()
    {
        sim::Options o;
        o.target = "127.0.0.1:" + std::to_string(closed_port());
        o.connections = 6;
        o.threads = 1;
        const sim::Report r = sim::run(o);
        QVERIFY2(r.fatal.empty(), r.fatal.c_str());
        QCOMPARE(r.opened, std::uint64_t{0});
        QCOMPARE(r.refused, std::uint64_t{6});
        QCOMPARE(r.errors.connect_refused, std::uint64_t{6});
        QCOMPARE(r.responses, std::uint64_t{0});
        QCOMPARE(r.exit_code(), 1);
        const auto j = sim::to_json(r);
        QCOMPARE(j.at("connections").at("refused").as_uint64(), std::uint64_t{6});
        QCOMPARE(j.at("exit_code").as_int64(), std::int64_t{1});
    }

    void jsonKeysAreStable()
    {
        TestServer server;
        sim::Options o = base_options(server);
        o.duration = std::chrono::milliseconds(300);
        const sim::Report r = sim::run(o);
        const auto j = sim::to_json(r);
        // The keys run-bench.sh reads.
        for (const char* path : {"connections/opened", "connections/refused", "connections/failed",
                                 "requests/ok_rps", "requests/achieved_rps", "requests/target_rps",
                                 "latency_ms/p50", "latency_ms/p99", "latency_ms/p99_9", "latency_ms/max",
                                 "errors/total", "hold/answered", "hold/failed", "client/cpu_s"}) {
            const std::string p(path);
            const auto slash = p.find('/');
            const auto& group = j.at(p.substr(0, slash)).as_object();
            QVERIFY2(group.contains(p.substr(slash + 1)), path);
        }
        QVERIFY(j.at("ok").as_bool());
        // Round-trips through the serializer.
        QCOMPARE(boost::json::parse(boost::json::serialize(j)).as_object(), j);
        QVERIFY(sim::format_text(r).find("latency ms") != std::string::npos);
    }
};

QTEST_GUILESS_MAIN(TestSim)
#include "test_sim.moc"
