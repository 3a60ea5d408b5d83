// SPDX-License-Identifier: GPL-3.0-or-later
// Durability of the headless gateway (DESIGN.md, Store): a 204 means committed, so neither kill -9 nor
// SIGTERM may lose an acknowledged sample. Runs the real fleetscope-gateway binary from FLEETSCOPE_BIN_DIR
// with 16 clients posting back to back, kills it 20 times (each after a different time, so that the kills
// land in different phases of group commit, compaction and checkpoint), restarts it on the same database each
// time and checks everything acknowledged so far, then stops it with SIGTERM and reads the SQLite file
// directly. It reports "N kill -9 cycles, M acknowledged, L lost" for the record; L must be 0.
#include "integration/http_client.hpp"

#include <QtTest>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <atomic>
#include <csignal>
#include <map>
#include <memory>
#include <set>
#include <thread>

using namespace fleetscope::testing;
namespace json = boost::json;
using std::chrono::steady_clock;

namespace {

constexpr int kClients = 16;
constexpr int kKillCycles = 20;
constexpr milliseconds kPostFor{1500}; // before the SIGTERM

/// How long clients post before the kill of `cycle`: 500 to 1100 ms, varied so the kills fall at different
/// points of the writer's work.
milliseconds post_before_kill(int cycle)
{
    return milliseconds(500 + 150 * (cycle % 5));
}

/// One run of the gateway binary. Lives on the test thread.
class GatewayProcess {
public:
    /// Starts the binary and waits for "listening on HOST:PORT". Returns an empty string or why it failed.
    QString start(const QString& program, const QString& db)
    {
        process_ = std::make_unique<QProcess>();
        process_->setProgram(program);
        process_->setArguments({"--listen", "127.0.0.1:0", "--db", db, "--workers", "2"});
        process_->start();
        if (!process_->waitForStarted(5000))
            return "cannot start " + program + ": " + process_->errorString();
        QByteArray out;
        const auto t0 = steady_clock::now();
        while (!out.contains('\n') && steady_clock::now() - t0 < std::chrono::seconds(10)) {
            if (!process_->waitForReadyRead(200) && process_->state() != QProcess::Running)
                break;
            out += process_->readAllStandardOutput();
        }
        const QString line = QString::fromUtf8(out).trimmed();
        static const QRegularExpression kListening(QStringLiteral(R"(^listening on 127\.0\.0\.1:(\d+)$)"));
        const auto m = kListening.match(line.section('\n', 0, 0));
        if (!m.hasMatch())
            return "expected 'listening on 127.0.0.1:PORT' on stdout, got '" + line +
                   "'; stderr: " + QString::fromUtf8(process_->readAllStandardError());
        port_ = static_cast<std::uint16_t>(m.captured(1).toUInt());
        return port_ != 0 ? QString() : QStringLiteral("port 0 printed after start");
    }

    void send_signal(int sig) { ::kill(static_cast<pid_t>(process_->processId()), sig); }

    bool wait_finished(int ms = 10'000) { return process_->waitForFinished(ms); }
    QProcess& process() { return *process_; }
    std::uint16_t port() const { return port_; }

private:
    std::unique_ptr<QProcess> process_;
    std::uint16_t port_ = 0;
};

/// Each client posts distinct samples back to back on one connection until `stop` or until the connection
/// ends. Only a 204 counts as acknowledged; a lost connection just ends the client.
std::vector<PostLog> post_while(std::uint16_t port, int cycle, const std::function<void()>& meanwhile)
{
    std::vector<PostLog> logs(kClients);
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    for (int t = 0; t < kClients; ++t) {
        logs[std::size_t(t)].device = "c" + std::to_string(cycle) + "-t" + std::to_string(t);
        threads.emplace_back([&, t] {
            PostLog& log = logs[std::size_t(t)];
            HttpClient c;
            if (!c.connect(port)) {
                log.unexpected.push_back("connect: " + c.error().message());
                return;
            }
            post_back_to_back(c, log, 1'700'000'000'000, stop);
        });
    }
    meanwhile();
    stop.store(true);
    for (auto& t : threads)
        t.join();
    return logs;
}

/// Sample counts by device from GET /v1/devices, or nothing on any failure.
std::optional<std::map<std::string, std::int64_t>> device_samples(HttpClient& c)
{
    auto res = c.request(get("/v1/devices"));
    if (!res || res->result_int() != 200)
        return std::nullopt;
    boost::system::error_code ec;
    const json::value v = json::parse(res->body(), ec);
    if (ec || !v.is_array())
        return std::nullopt;
    std::map<std::string, std::int64_t> out;
    for (const auto& d : v.as_array())
        out[std::string(d.at("device").as_string())] = d.at("samples").as_int64();
    return out;
}

long long ms(steady_clock::duration d)
{
    return static_cast<long long>(std::chrono::duration_cast<milliseconds>(d).count());
}

/// The ts of every reading of metric `v` the gateway returns for `device`, or nothing on any failure.
std::optional<std::vector<std::int64_t>> stored_ts(HttpClient& c, const std::string& device)
{
    auto res = c.request(get("/v1/devices/" + device + "/samples?metric=v&limit=100000"));
    if (!res || res->result_int() != 200)
        return std::nullopt;
    boost::system::error_code ec;
    const json::value v = json::parse(res->body(), ec);
    if (ec || !v.is_array())
        return std::nullopt;
    std::vector<std::int64_t> out;
    for (const auto& e : v.as_array())
        out.push_back(e.at("ts").as_int64());
    return out;
}

} // namespace

class TestCrash : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void killNineLosesNothingAcknowledged();

private:
    QString program_;
};

void TestCrash::initTestCase()
{
    const QByteArray bin = qgetenv("FLEETSCOPE_BIN_DIR");
    if (bin.isEmpty())
        QSKIP("FLEETSCOPE_BIN_DIR is not set: run through ctest, or set it to the build's bin/ folder");
    program_ = QDir(QString::fromLocal8Bit(bin)).filePath(QStringLiteral("fleetscope-gateway"));
    if (!QFileInfo(program_).isExecutable())
        QSKIP(qPrintable(program_ + " is missing: build the fleetscope-gateway target first"));
}

void TestCrash::killNineLosesNothingAcknowledged()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString db = dir.filePath(QStringLiteral("crash.db"));

    const auto started = steady_clock::now();
    std::vector<PostLog> all;
    std::size_t acked_before_kills = 0;
    auto gateway = std::make_unique<GatewayProcess>();
    QString why = gateway->start(program_, db);
    QVERIFY2(why.isEmpty(), qPrintable(why));

    for (int cycle = 0; cycle < kKillCycles; ++cycle) {
        // kill -9 while every client has a request in flight or about to be.
        auto logs = post_while(gateway->port(), cycle, [&] {
            std::this_thread::sleep_for(post_before_kill(cycle));
            gateway->send_signal(SIGKILL);
        });
        QVERIFY(gateway->wait_finished());
        QCOMPARE(gateway->process().exitStatus(), QProcess::CrashExit);
        std::size_t acked = 0;
        for (const auto& log : logs) {
            QVERIFY2(log.unexpected.empty(), first(log.unexpected));
            QVERIFY2(!log.acked.empty(),
                     qPrintable(QString::fromStdString(log.device) + " got no 204 in " +
                                QString::number(post_before_kill(cycle).count()) + " ms"));
            acked += log.acked.size();
        }
        acked_before_kills += acked;
        qInfo("cycle %d: %zu samples acknowledged by %d clients in %lld ms before kill -9 (%zu so far)",
              cycle, acked, kClients, static_cast<long long>(post_before_kill(cycle).count()),
              acked_before_kills);
        all.insert(all.end(), logs.begin(), logs.end());

        // A fresh gateway on the same file. This cycle's samples are checked one by one through the query
        // API: every acknowledged one is there, and at most one more per client (the request in flight at the
        // kill may have committed unanswered). Earlier cycles' devices are checked by their sample counts in
        // one GET /v1/devices; the final check reads every sample of every cycle from the file.
        const auto t_restart = steady_clock::now();
        gateway = std::make_unique<GatewayProcess>();
        why = gateway->start(program_, db);
        QVERIFY2(why.isEmpty(), qPrintable(why));
        const auto t_check = steady_clock::now();
        HttpClient c;
        QVERIFY(c.connect(gateway->port()));
        for (const auto& log : logs) {
            const auto ts = stored_ts(c, log.device);
            QVERIFY2(ts, qPrintable("cannot query " + QString::fromStdString(log.device)));
            const std::set<std::int64_t> stored(ts->begin(), ts->end());
            QCOMPARE(stored.size(), ts->size()); // nothing stored twice
            for (auto t : log.acked)
                QVERIFY2(stored.contains(t),
                         qPrintable(QStringLiteral("%1: acknowledged ts %2 lost after kill -9")
                                        .arg(QString::fromStdString(log.device))
                                        .arg(t)));
            QVERIFY2(stored.size() <= log.acked.size() + 1,
                     qPrintable(QStringLiteral("%1: %2 stored, %3 acknowledged")
                                    .arg(QString::fromStdString(log.device))
                                    .arg(stored.size())
                                    .arg(log.acked.size())));
        }
        const auto counts = device_samples(c);
        QVERIFY2(counts, "cannot query /v1/devices");
        for (const auto& log : all) {
            const auto it = counts->find(log.device);
            const std::int64_t n = it == counts->end() ? 0 : it->second;
            QVERIFY2(n >= std::int64_t(log.acked.size()) && n <= std::int64_t(log.acked.size()) + 1,
                     qPrintable(QStringLiteral("%1: %2 samples stored after cycle %3, %4 acknowledged")
                                    .arg(QString::fromStdString(log.device))
                                    .arg(n)
                                    .arg(cycle)
                                    .arg(log.acked.size())));
        }
        qInfo("cycle %d: restart %lld ms, check %lld ms", cycle, ms(t_check - t_restart),
              ms(steady_clock::now() - t_check));
    }

    // SIGTERM while clients post: exit 0, every request started is finished, so exactly what was acknowledged
    // is stored. The file is read directly once the process has gone.
    bool finished = false;
    auto logs = post_while(gateway->port(), kKillCycles, [&] {
        std::this_thread::sleep_for(kPostFor);
        gateway->send_signal(SIGTERM);
        finished = gateway->wait_finished();
    });
    QVERIFY2(finished, "the gateway did not exit within 10 s of SIGTERM");
    QCOMPARE(gateway->process().exitStatus(), QProcess::NormalExit);
    QVERIFY2(gateway->process().exitCode() == 0, gateway->process().readAllStandardError().constData());
    std::size_t acked = 0;
    for (const auto& log : logs) {
        QVERIFY2(log.unexpected.empty(), first(log.unexpected));
        acked += log.acked.size();
    }
    qInfo("SIGTERM: %zu samples acknowledged by %d clients", acked, kClients);

    std::vector<std::pair<std::string, std::int64_t>> rows;
    try {
        rows = read_readings(db.toStdString());
    } catch (const std::exception& e) {
        QFAIL(e.what());
    }
    std::map<std::string, std::set<std::int64_t>> stored;
    for (auto& [device, ts] : rows)
        QVERIFY2(stored[device].insert(ts).second,
                 qPrintable(QString::fromStdString(device) + " stored twice"));
    std::size_t lost = 0;
    for (const auto& log : all) {
        const auto& s = stored[log.device];
        for (auto t : log.acked)
            lost += s.contains(t) ? 0 : 1;
    }
    qInfo("%d kill -9 cycles, %zu samples acknowledged before the kills, %zu lost; %.1f s in all",
          kKillCycles, acked_before_kills, lost,
          std::chrono::duration<double>(steady_clock::now() - started).count());
    QCOMPARE(lost, std::size_t(0));
    for (const auto& log : logs) {
        const std::set<std::int64_t> expected(log.acked.begin(), log.acked.end());
        QCOMPARE(stored[log.device], expected);
    }
}

QTEST_GUILESS_MAIN(TestCrash)
#include "test_crash.moc"
