// SPDX-License-Identifier: GPL-3.0-or-later
// GET /metrics of a real gateway over a real socket (issue 15): the latency histograms agree with what the
// clients saw (one ack per 204, one commit per store batch), rejected samples are counted by reason (a token
// for another device, a full database), the connected devices, the database bytes and the process_* figures
// are the process's own, and `promtool check metrics` (Debian's prometheus package) finds nothing to say.
// Without promtool that last check is skipped, saying so.
#include "core/auth/tokens.hpp"
#include "core/gateway.hpp"
#include "support/http_client.hpp"

#include <QProcess>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>

#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sqlite3.h>
#include <sys/resource.h>
#include <thread>

using namespace fleetscope;
using namespace fleetscope::testing;

namespace {

/// Every sample line of an exposition, by its name and labels as written (`name{labels}`).
std::map<std::string, double> samples_of(const std::string& text)
{
    std::map<std::string, double> out;
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t end = text.find('\n', pos);
        if (end == std::string::npos)
            end = text.size();
        const std::string line = text.substr(pos, end - pos);
        pos = end + 1;
        if (line.empty() || line.front() == '#')
            continue;
        const auto space = line.rfind(' ');
        out[line.substr(0, space)] = std::stod(line.substr(space + 1));
    }
    return out;
}

/// The value of `key`, NaN when the exposition lacks it (a failed comparison, not an exception).
double at(const std::map<std::string, double>& m, const std::string& key)
{
    const auto it = m.find(key);
    return it == m.end() ? std::nan("") : it->second;
}

std::string token_line(const std::string& device, const std::string& token)
{
    return device + " " + auth::to_hex(auth::sha256(token)) + "\n";
}

} // namespace

class TestPrometheus : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void cleanupTestCase();
    void histogramsMatchTheTraffic();
    void rejectedSamplesByReason();
    void gaugesAreTheProcesssOwn();
    void promtoolFindsNothing();

private:
    std::string scrape();
    /// Polls /metrics until `done` holds for its samples (the sampler publishes every sample interval).
    std::map<std::string, double>
    scrape_until(const std::function<bool(const std::map<std::string, double>&)>& done);

    QTemporaryDir dir_;
    Settings settings_;
    std::unique_ptr<Gateway> gateway_;
    std::time_t test_started_ = 0;
    // Two devices keep a connection open for the whole test: devices_connected says 2.
    HttpClient pump1_, pump2_;
    int acked_ = 0;             // 204 answers to POST /v1/telemetry
    int committed_samples_ = 0; // samples in them
    int unauthorized_samples_ = 0;
    int full_samples_ = 0;
};

void TestPrometheus::initTestCase()
{
    test_started_ = std::time(nullptr);
    QVERIFY(dir_.isValid());
    settings_.listen = "127.0.0.1:0";
    settings_.db_path = dir_.filePath(QStringLiteral("metrics.db")).toStdString();
    settings_.workers = 2;
    settings_.stack_cache_per_worker = 8;
    settings_.sample_interval = Millis(20);
    settings_.timeline_interval =
        Millis(0); // nothing writes once the clients stop: the file size holds still
    settings_.store_max_bytes = 4 * 1024 * 1024;
    settings_.alert_rules = dir_.filePath(QStringLiteral("none.json")).toStdString();
    settings_.token_file = dir_.filePath(QStringLiteral("tokens")).toStdString();
    std::ofstream(settings_.token_file)
        << token_line("pump-1", "token-one") << token_line("pump-2", "token-two");
    gateway_ = std::make_unique<Gateway>(settings_);
    gateway_->start();

    QVERIFY(pump1_.connect(gateway_->port()));
    QVERIFY(pump2_.connect(gateway_->port()));
    for (int i = 0; i < 20; ++i) {
        auto& c = i % 2 ? pump2_ : pump1_;
        const std::string device = i % 2 ? "pump-2" : "pump-1";
        const auto res = c.request(post_telemetry(sample_json(device, 1000 + i, i),
                                                  bearer_header(i % 2 ? "token-two" : "token-one")));
        QVERIFY(res);
        QCOMPARE(res->result_int(), 204);
        ++acked_;
        ++committed_samples_;
    }

    // pump-1's token, three samples of pump-2: refused whole.
    std::string body = "[" + sample_json("pump-1", 5000, 1) + "," + sample_json("pump-2", 5000, 1) + "," +
                       sample_json("pump-1", 5001, 1) + "]";
    HttpClient other;
    QVERIFY(other.connect(gateway_->port()));
    auto res = other.request(post_telemetry(body, bearer_header("token-one")));
    QVERIFY(res);
    QCOMPARE(res->result_int(), 401);
    unauthorized_samples_ = 3;

    // Another program fills the file past store-max-bytes; a large request then needs pages beyond it.
    sqlite3* db = nullptr;
    QCOMPARE(sqlite3_open(settings_.db_path.c_str(), &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    QCOMPARE(sqlite3_exec(db, "CREATE TABLE ballast(b BLOB); INSERT INTO ballast VALUES (zeroblob(6000000))",
                          nullptr, nullptr, nullptr),
             SQLITE_OK);
    sqlite3_close(db);
    body = "[";
    for (int i = 0; i < 1000; ++i) {
        body += (i ? "," : "") + std::string("{\"device\":\"pump-1\",\"ts\":") + std::to_string(10'000 + i) +
                ",\"metrics\":{";
        for (int m = 0; m < 8; ++m)
            body +=
                (m ? "," : "") + std::string("\"metric_") + std::to_string(m) + "\":" + std::to_string(i * m);
        body += "}}";
    }
    body += "]";
    res = other.request(post_telemetry(body, bearer_header("token-one")));
    QVERIFY(res);
    QCOMPARE(res->result_int(), 503);
    QVERIFY2(res->body().find("database full") != std::string::npos, res->body().c_str());
    full_samples_ = 1000;
}

void TestPrometheus::cleanupTestCase()
{
    pump1_.close();
    pump2_.close();
    if (gateway_)
        gateway_->stop();
}

std::string TestPrometheus::scrape()
{
    HttpClient c;
    if (!c.connect(gateway_->port()))
        return {};
    const auto res = c.request(get("/metrics"));
    if (!res || res->result_int() != 200)
        return {};
    if (res->at(bhttp::field::content_type) != "text/plain; version=0.0.4; charset=utf-8")
        return {};
    return res->body();
}

std::map<std::string, double>
TestPrometheus::scrape_until(const std::function<bool(const std::map<std::string, double>&)>& done)
{
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    std::map<std::string, double> m;
    do {
        m = samples_of(scrape());
        if (done(m))
            return m;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    } while (std::chrono::steady_clock::now() < deadline);
    return m;
}

void TestPrometheus::histogramsMatchTheTraffic()
{
    const auto m = scrape_until([this](const auto& m) {
        auto it = m.find("fleetscope_ack_latency_seconds_count");
        return it != m.end() && it->second == acked_;
    });
    QCOMPARE(at(m, "fleetscope_ack_latency_seconds_count"), double(acked_));
    QCOMPARE(at(m, "fleetscope_samples_committed_total"), double(committed_samples_));

    for (const std::string h : {"fleetscope_ack_latency_seconds", "fleetscope_commit_latency_seconds"}) {
        // Cumulative: never decreasing, from the first bound (1.024 µs) to the last (2^37 ns), then +Inf.
        double previous = 0;
        int bounds = 0;
        std::string first, last;
        for (const auto& [key, value] : m) {
            if (key.rfind(h + "_bucket{le=\"", 0) != 0 || key.find("+Inf") != std::string::npos)
                continue;
            ++bounds;
            if (first.empty())
                first = key;
            last = key;
        }
        QCOMPARE(bounds, 55);
        QVERIFY(m.count(h + "_bucket{le=\"0.000001024\"}"));
        QVERIFY(m.count(h + "_bucket{le=\"137.438953472\"}"));
        // The keys sort as text, not by le: walk them in le order instead.
        std::vector<std::pair<double, double>> by_le;
        for (const auto& [key, value] : m) {
            const std::string prefix = h + "_bucket{le=\"";
            if (key.rfind(prefix, 0) == 0 && key.find("+Inf") == std::string::npos)
                by_le.emplace_back(std::stod(key.substr(prefix.size())), value);
        }
        std::sort(by_le.begin(), by_le.end());
        for (const auto& [le, value] : by_le) {
            QVERIFY2(value >= previous,
                     qPrintable(QString::fromStdString(h) + " not cumulative at le=" + QString::number(le)));
            previous = value;
        }
        const double count = at(m, h + "_count");
        QCOMPARE(at(m, h + "_bucket{le=\"+Inf\"}"), count);
        QVERIFY(previous <= count);
        QVERIFY(count >= 1);
        const double sum = at(m, h + "_sum");
        QVERIFY2(sum > 0 && sum < count * 5.0, qPrintable(QString::number(sum)));
    }
    // One commit timing per committed transaction.
    QCOMPARE(at(m, "fleetscope_commit_latency_seconds_count"), at(m, "fleetscope_store_batches_total"));
    const std::string text = scrape();
    QVERIFY2(text.find("quantile") == std::string::npos, "no family may carry a quantile label any more");
    QVERIFY(text.find("# TYPE fleetscope_ack_latency_seconds histogram\n") != std::string::npos);
}

void TestPrometheus::rejectedSamplesByReason()
{
    const auto m = scrape_until([this](const auto& m) {
        auto it = m.find("fleetscope_samples_rejected_total{reason=\"database_full\"}");
        return it != m.end() && it->second == full_samples_;
    });
    QCOMPARE(at(m, "fleetscope_samples_rejected_total{reason=\"unauthorized\"}"),
             double(unauthorized_samples_));
    QCOMPARE(at(m, "fleetscope_samples_rejected_total{reason=\"database_full\"}"), double(full_samples_));
    for (const char* reason : {"overloaded", "database_locked", "store_error", "stopping"})
        QCOMPARE(at(m, "fleetscope_samples_rejected_total{reason=\"" + std::string(reason) + "\"}"), 0.0);
}

void TestPrometheus::gaugesAreTheProcesssOwn()
{
    namespace fs = std::filesystem;
    const auto on_disk = [this] {
        // The store's files: the database, its recent file, and their write-ahead logs.
        double bytes = double(fs::file_size(settings_.db_path));
        for (const std::string& file :
             {settings_.db_path + "-wal", settings_.db_path + "-recent", settings_.db_path + "-recent-wal"}) {
            std::error_code ec;
            const auto size = fs::file_size(file, ec);
            bytes += ec ? 0.0 : double(size);
        }
        return bytes;
    };
    // The store's checkpointer may still be copying the ballast into the main file: compare the figure with
    // the size on disk at the moment of each scrape until they agree.
    double seen = 0;
    const auto m = scrape_until([&](const auto& m) {
        seen = on_disk();
        return at(m, "fleetscope_database_bytes") == seen;
    });
    QCOMPARE(at(m, "fleetscope_database_bytes"), seen);
    QVERIFY(at(m, "fleetscope_database_bytes") > 6'000'000); // the ballast is in the file
    QCOMPARE(at(m, "fleetscope_devices_connected"), 2.0);
    QCOMPARE(at(m, "fleetscope_build_info{version=\"" FLEETSCOPE_VERSION "\"}"), 1.0);

    rlimit lim{};
    QCOMPARE(getrlimit(RLIMIT_NOFILE, &lim), 0);
    QCOMPARE(at(m, "process_max_fds"), double(lim.rlim_cur));
    QVERIFY(at(m, "process_open_fds") >= 5); // stdio, the listener, the database, client sockets
    QVERIFY(at(m, "process_resident_memory_bytes") > 1'000'000);
    QVERIFY(at(m, "process_virtual_memory_bytes") >= at(m, "process_resident_memory_bytes"));
    QVERIFY(at(m, "process_cpu_seconds_total") > 0);
    // This test is the gateway's process: it started at most a minute before initTestCase ran, and not after.
    const double started = at(m, "process_start_time_seconds");
    QVERIFY2(started <= double(test_started_) + 1 && started >= double(test_started_) - 60,
             qPrintable(QStringLiteral("process_start_time_seconds %1, test started %2")
                            .arg(started, 0, 'f', 2)
                            .arg(test_started_)));
}

void TestPrometheus::promtoolFindsNothing()
{
    const QString promtool = QStandardPaths::findExecutable(QStringLiteral("promtool"));
    if (promtool.isEmpty())
        QSKIP("promtool is not installed (Debian package prometheus, listed in packaging/setup-debian.sh)");
    const std::string text = scrape();
    QVERIFY(!text.empty());
    QProcess p;
    p.setProcessChannelMode(QProcess::MergedChannels);
    p.start(promtool, {QStringLiteral("check"), QStringLiteral("metrics")});
    QVERIFY(p.waitForStarted(5000));
    p.write(text.data(), qint64(text.size()));
    p.closeWriteChannel();
    QVERIFY(p.waitForFinished(10000));
    const QByteArray said = p.readAll();
    QVERIFY2(p.exitStatus() == QProcess::NormalExit && p.exitCode() == 0, said.constData());
    QVERIFY2(said.trimmed().isEmpty(), said.constData());
}

QTEST_GUILESS_MAIN(TestPrometheus)
#include "test_prometheus.moc"
