// SPDX-License-Identifier: GPL-3.0-or-later
// Many gateways, one fleet, with the real parts: a PostgreSQL 15, three fleetscope-gateway processes started
// at once on a fresh database (their migrations race), and HAProxy in front of them as the shipped example
// configures it (TCP, leastconn, /healthz checks). Devices are client threads posting back to back through
// HAProxy, each reconnecting when its connection ends. Covered: kill -9 of one gateway under load (every
// acknowledged sample is readable through each survivor, and new devices are served by them); SIGTERM with
// --drain-time (/healthz 503, HAProxy stops sending it connections, its devices move); a database restart
// under load (503 with Retry-After meanwhile, then commits resume; nothing acknowledged lost).
#include "support/gateway_process.hpp"
#include "support/haproxy.hpp"
#include "support/http_client.hpp"
#include "support/postgres_server.hpp"

#include <QTemporaryDir>
#include <QTest>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <atomic>
#include <csignal>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

using namespace fleetscope::testing;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

/// What one device saw, posting back to back and reconnecting through HAProxy whenever its connection ended.
struct DeviceLog {
    std::string device;
    std::vector<std::int64_t> acked;   // ts of every sample answered 204
    int unavailable = 0;               // 503 answers, each with Retry-After
    std::int64_t last_unavailable = 0; // ts of the last sample answered 503
    int reconnects = 0;
    std::vector<std::string> unexpected;
};

/// Posts samples of `log.device` (ts = first, first + 1, ...) through `port` until `stop`. A closed or reset
/// connection, or one HAProxy could not route, is opened again; a 503 must carry Retry-After and is retried
/// after a short pause; only a 204 acknowledges.
void post_until(std::uint16_t port, DeviceLog& log, std::int64_t first, const std::atomic<bool>& stop)
{
    HttpClient c;
    bool connected = false;
    std::int64_t ts = first;
    while (!stop.load(std::memory_order_relaxed)) {
        if (!connected) {
            if (!c.connect(port, 2000ms)) {
                std::this_thread::sleep_for(20ms);
                continue;
            }
            connected = true;
        }
        const std::int64_t sent = ts++;
        auto res = c.request(post_telemetry(sample_json(log.device, sent, double(sent % 1000))), 5000ms);
        if (!res) {
            // The gateway died or closed under us: the sample may or may not be stored; it was not
            // acknowledged.
            if (c.error() == boost::asio::error::timed_out)
                log.unexpected.push_back("no answer within 5 s");
            c.close();
            connected = false;
            ++log.reconnects;
            continue;
        }
        if (res->result_int() == 204) {
            log.acked.push_back(sent);
        } else if (res->result_int() == 503 && !str((*res)[bhttp::field::retry_after]).empty()) {
            ++log.unavailable;
            log.last_unavailable = sent;
            std::this_thread::sleep_for(50ms);
        } else {
            log.unexpected.push_back("status " + std::to_string(res->result_int()) + ": " + res->body());
            return;
        }
        if (!res->keep_alive()) {
            c.close();
            connected = false;
            ++log.reconnects;
        }
    }
}

/// Devices posting on threads of their own until stop() joins them.
class Fleet {
public:
    Fleet(std::uint16_t port, const std::string& prefix, int n)
    {
        logs_.resize(std::size_t(n));
        for (int i = 0; i < n; ++i) {
            logs_[std::size_t(i)].device = prefix + std::to_string(i);
            threads_.emplace_back(
                [this, port, i] { post_until(port, logs_[std::size_t(i)], 1'700'000'000'000, stop_); });
        }
    }
    ~Fleet() { stop(); }
    const std::vector<DeviceLog>& stop()
    {
        stop_.store(true);
        for (auto& t : threads_)
            if (t.joinable())
                t.join();
        return logs_;
    }

private:
    std::atomic<bool> stop_{false};
    std::vector<DeviceLog> logs_;
    std::vector<std::thread> threads_;
};

/// The ts of every reading of metric `v` a gateway returns for `device`, or nothing on any failure.
std::optional<std::set<std::int64_t>> stored(std::uint16_t port, const std::string& device)
{
    HttpClient c;
    if (!c.connect(port))
        return std::nullopt;
    auto res = c.request(get("/v1/devices/" + device + "/samples?metric=v&limit=100000"));
    if (!res || res->result_int() != 200)
        return std::nullopt;
    std::set<std::int64_t> out;
    const json::value body = json::parse(res->body());
    for (const auto& e : body.as_array())
        out.insert(e.at("ts").as_int64());
    return out;
}

/// Every acknowledged sample of `logs`, read back through the gateway on `port`: empty when all are there,
/// else what is missing.
std::string missing_through(std::uint16_t port, const std::vector<DeviceLog>& logs, std::size_t& checked)
{
    for (const auto& log : logs) {
        const auto found = stored(port, log.device);
        if (!found)
            return "cannot read " + log.device + " through port " + std::to_string(port);
        for (const auto ts : log.acked) {
            if (!found->contains(ts))
                return log.device + " ts " + std::to_string(ts) + " was acknowledged and is not stored";
            ++checked;
        }
    }
    return {};
}

/// device -> the gateway /v1/devices names as holding its connection ("" for null).
std::map<std::string, std::string> holders(std::uint16_t port)
{
    std::map<std::string, std::string> out;
    HttpClient c;
    if (!c.connect(port))
        return out;
    auto res = c.request(get("/v1/devices"));
    if (!res || res->result_int() != 200)
        return out;
    const json::value body = json::parse(res->body());
    for (const auto& d : body.as_array()) {
        const auto& g = d.at("gateway");
        out[std::string(d.at("device").as_string())] = g.is_string() ? std::string(g.as_string()) : "";
    }
    return out;
}

} // namespace

class TestScaleOut : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void init();
    void cleanup();
    void exampleConfigurationIsValid();
    void killNineOfOneGatewayLosesNothingAcknowledged();
    void drainingGatewayHandsItsDevicesOver();
    void databaseRestartUnderLoad();

private:
    /// Three gateways started at once on a fresh database (their schema migrations race), HAProxy in front.
    void start_cluster(const std::vector<std::string>& extra_args = {});

    QString program_;
    std::unique_ptr<PostgresServer> pg_;
    std::unique_ptr<QTemporaryDir> dir_;
    std::string uri_;
    int databases_ = 0;
    std::vector<std::unique_ptr<GatewayProcess>> gateways_;
    std::unique_ptr<Haproxy> haproxy_;
};

void TestScaleOut::initTestCase()
{
    std::string why;
    program_ = QString::fromStdString(GatewayProcess::program(why));
    if (program_.isEmpty())
        QSKIP(why.c_str());
    if (const auto pg = PostgresServer::unavailable(); !pg.empty())
        QSKIP(pg.c_str());
    if (const auto ha = Haproxy::unavailable(); !ha.empty())
        QSKIP(ha.c_str());
    pg_ = std::make_unique<PostgresServer>();
    try {
        pg_->start();
    } catch (const std::exception& e) {
        QFAIL(e.what());
    }
}

void TestScaleOut::init()
{
    dir_ = std::make_unique<QTemporaryDir>();
    QVERIFY(dir_->isValid());
}

void TestScaleOut::cleanup()
{
    haproxy_.reset();
    gateways_.clear(); // SIGKILL whatever still runs
    if (QTest::currentTestFailed() && pg_)
        qInfo("PostgreSQL's log: %s", pg_->log_tail().c_str());
}

void TestScaleOut::exampleConfigurationIsValid()
{
    if (const auto ha = Haproxy::unavailable(); !ha.empty())
        QSKIP(ha.c_str());
    const std::string log = dir_->filePath("check.log").toStdString();
    ChildProcess::Options check;
    check.argv = {"/usr/sbin/haproxy", "-c", "-f",
                  FLEETSCOPE_SOURCE_DIR "/packaging/haproxy/fleetscope-haproxy.cfg"};
    check.log_path = log;
    QVERIFY2(run_to_end(check, 10s) == 0, tail_of(log).c_str());
}

void TestScaleOut::start_cluster(const std::vector<std::string>& extra_args)
{
    uri_ = pg_->create_database("fleet" + std::to_string(++databases_));
    std::vector<std::thread> starters;
    std::vector<std::string> errors(3);
    for (int i = 0; i < 3; ++i)
        gateways_.push_back(std::make_unique<GatewayProcess>());
    // The processes must be started by this thread (their death signal is tied to it); they then migrate
    // concurrently on their own.
    for (int i = 0; i < 3; ++i) {
        std::vector<std::string> args{"--listen",       "127.0.0.1:0",
                                      "--store",        uri_,
                                      "--gateway-name", "gw" + std::to_string(i + 1),
                                      "--workers",      "1",
                                      "--retry-after",  "1",
                                      "--alert-rules",  dir_->filePath("no-rules.json").toStdString()};
        args.insert(args.end(), extra_args.begin(), extra_args.end());
        try {
            gateways_[std::size_t(i)]->start(program_.toStdString(), args,
                                             dir_->filePath(QString("gw%1.log").arg(i + 1)).toStdString());
        } catch (const std::exception& e) {
            QFAIL(e.what());
        }
    }
    std::vector<Haproxy::Backend> backends;
    for (int i = 0; i < 3; ++i)
        backends.push_back({"gw" + std::to_string(i + 1), gateways_[std::size_t(i)]->port()});
    haproxy_ = std::make_unique<Haproxy>();
    try {
        haproxy_->start(backends);
    } catch (const std::exception& e) {
        QFAIL(e.what());
    }
    for (const auto& b : backends)
        QVERIFY2(haproxy_->wait_state(b.name, "UP", 5s), b.name.c_str());
    QCOMPARE(pg_->query_value("SELECT count(*) FROM fleetscope_schema", uri_), std::string("1"));
}

void TestScaleOut::killNineOfOneGatewayLosesNothingAcknowledged()
{
    start_cluster();
    if (QTest::currentTestFailed())
        return;
    const std::uint16_t front = haproxy_->port();
    Fleet fleet(front, "dev-", 12);
    std::this_thread::sleep_for(1500ms);
    gateways_[0]->signal(SIGKILL);
    QVERIFY(gateways_[0]->wait(5s).has_value());
    QVERIFY(haproxy_->wait_state("gw1", "DOWN", 5s));
    // Devices that appear after the kill are served by the survivors.
    Fleet late(front, "late-", 4);
    std::this_thread::sleep_for(1500ms);
    const auto& logs = fleet.stop();
    const auto& late_logs = late.stop();

    std::size_t acked = 0;
    int reconnects = 0;
    for (const auto* group : {&logs, &late_logs}) {
        for (const auto& log : *group) {
            QVERIFY2(log.unexpected.empty(), (log.device + ": " + first(log.unexpected)).c_str());
            QVERIFY2(!log.acked.empty(), (log.device + " got no 204").c_str());
            acked += log.acked.size();
            reconnects += log.reconnects;
        }
    }
    QVERIFY2(reconnects > 0, "no device was on the killed gateway");
    // Every acknowledged sample, through each survivor.
    for (std::size_t g = 1; g < 3; ++g) {
        std::size_t checked = 0;
        const std::string miss = missing_through(gateways_[g]->port(), logs, checked);
        QVERIFY2(miss.empty(), miss.c_str());
        const std::string miss_late = missing_through(gateways_[g]->port(), late_logs, checked);
        QVERIFY2(miss_late.empty(), miss_late.c_str());
        QCOMPARE(checked, acked);
    }
    qInfo("kill -9 of gw1 behind HAProxy: %zu samples acknowledged by 16 devices (%d reconnects), 0 lost",
          acked, reconnects);
    // The devices left connected are held by the survivors, and each gateway says so.
    const auto held = holders(gateways_[1]->port());
    for (const auto& log : late_logs) {
        const auto it = held.find(log.device);
        QVERIFY(it != held.end());
        QVERIFY2(it->second.empty() || it->second == "gw2" || it->second == "gw3", it->second.c_str());
    }
}

void TestScaleOut::drainingGatewayHandsItsDevicesOver()
{
    start_cluster({"--drain-time", "3000"});
    if (QTest::currentTestFailed())
        return;
    Fleet fleet(haproxy_->port(), "drain-", 9);
    std::this_thread::sleep_for(1000ms);
    QVERIFY(holders(gateways_[0]->port()).size() > 0);
    gateways_[0]->signal(SIGTERM);
    // Two failed checks: HAProxy stops sending it connections while it still serves.
    QVERIFY(haproxy_->wait_state("gw1", "DOWN", 3s));
    QVERIFY(gateways_[0]->running());
    const auto status = gateways_[0]->wait(10s);
    QVERIFY2(status.has_value(), "the draining gateway did not exit");
    QVERIFY2(WIFEXITED(*status) && WEXITSTATUS(*status) == 0, gateways_[0]->log().c_str());
    std::this_thread::sleep_for(500ms);
    const auto& logs = fleet.stop();
    std::size_t acked = 0;
    for (const auto& log : logs) {
        QVERIFY2(log.unexpected.empty(), (log.device + ": " + first(log.unexpected)).c_str());
        acked += log.acked.size();
    }
    std::size_t checked = 0;
    const std::string miss = missing_through(gateways_[1]->port(), logs, checked);
    QVERIFY2(miss.empty(), miss.c_str());
    QCOMPARE(checked, acked);
    // Nobody is held by the gateway that left.
    for (const auto& [device, gateway] : holders(gateways_[2]->port()))
        QVERIFY2(gateway != "gw1", device.c_str());
}

void TestScaleOut::databaseRestartUnderLoad()
{
    start_cluster();
    if (QTest::currentTestFailed())
        return;
    Fleet fleet(haproxy_->port(), "restart-", 8);
    std::this_thread::sleep_for(1000ms);
    pg_->stop();
    std::this_thread::sleep_for(1000ms);
    pg_->start(); // same folder, same port
    std::this_thread::sleep_for(2000ms);
    const auto& logs = fleet.stop();
    std::size_t acked = 0;
    int unavailable = 0;
    for (const auto& log : logs) {
        QVERIFY2(log.unexpected.empty(), (log.device + ": " + first(log.unexpected)).c_str());
        QVERIFY2(!log.acked.empty(), (log.device + " got no 204").c_str());
        acked += log.acked.size();
        unavailable += log.unavailable;
    }
    QVERIFY2(unavailable > 0, "no 503 while the database was down");
    // Commits resumed: every device was acknowledged after the restart (its last 204 came after its last
    // 503).
    std::size_t checked = 0;
    for (const auto& g : gateways_) {
        checked = 0;
        const std::string miss = missing_through(g->port(), logs, checked);
        QVERIFY2(miss.empty(), miss.c_str());
        QCOMPARE(checked, acked);
    }
    qInfo("database restart under load: %zu samples acknowledged, %d answered 503, 0 lost", acked,
          unavailable);
}

QTEST_GUILESS_MAIN(TestScaleOut)
#include "test_scaleout.moc"
