// SPDX-License-Identifier: GPL-3.0-or-later
// Durability (docs/architecture.md, The store): a 204 means committed, so neither kill -9 nor SIGTERM may
// lose an acknowledged sample, and nothing may be stored twice.
//
// killNineLosesNothingAcknowledged runs the real fleetscope-gateway binary from FLEETSCOPE_BIN_DIR with 16
// clients posting back to back, kills it 20 times (each after a different time, so that the kills land in
// different phases of group commit, compaction and checkpoint), restarts it on the same database each time
// and checks everything acknowledged so far, then stops it with SIGTERM and reads the SQLite files directly.
//
// killNineAtEveryStoreStep makes sure the kills land where they matter: this test binary, started as a
// child with --store-child, runs a store and SIGKILLs itself at the Nth pass of one named step of a group
// commit, a compaction round or the removal of moved batches (sqlite::g_fault_point), 20 times over 6
// steps, while it keeps committing. After each kill the parent reads the store (open_reader, read-only) and
// checks every reading the child saw acknowledged, once.
//
// Both report "N kill -9 cycles, M acknowledged, L lost, D duplicated" for the record; L and D must be 0.
#include "core/store/sqlite/hooks.hpp"
#include "core/store/store.hpp"
#include "support/http_client.hpp"
#include "support/store_files.hpp"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>
#include <QProcess>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTest>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <thread>
#include <unistd.h>

using namespace fleetscope;
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
    const auto readings = device_readings(c, device, "v");
    if (!readings)
        return std::nullopt;
    std::vector<std::int64_t> out;
    for (const auto& [ts, value] : *readings)
        out.push_back(ts);
    return out;
}

// ---- killNineAtEveryStoreStep ----

/// The steps of the store a child is killed at, in the order the cycles take them.
constexpr const char* kSteps[] = {"commit.before_commit",  "commit.after_commit",  "compact.moving",
                                  "compact.before_commit", "compact.after_commit", "remove.before_commit"};
constexpr int kStoreCycles = 20;
constexpr int kChildSamples = 50; // per request, each with metrics v and w
constexpr int kChildInFlight = 8;
constexpr std::size_t kChildCompactReadings = 2'000;

const char* g_kill_step = nullptr;
int g_kill_at = 0;
std::atomic<int> g_kill_hits{0};

/// The child mode: commits requests of kChildSamples samples of device `device` (ts 1, 2, ...) with
/// kChildInFlight in flight, writes "ack FIRST" to stdout for each request committed (unbuffered, so a kill
/// loses no line), and SIGKILLs itself at the `at`-th pass of `step`. Exits 3 if the step never comes.
int store_child(const char* db, const char* device, const char* step, int at)
{
    g_kill_step = step;
    g_kill_at = at;
    store::sqlite::g_fault_point.store(+[](const char* s) {
        if (std::strcmp(s, g_kill_step) == 0 && g_kill_hits.fetch_add(1) + 1 >= g_kill_at)
            ::raise(SIGKILL);
    });
    store::Options o;
    o.path = db;
    o.compact_readings = kChildCompactReadings; // a compaction every few requests
    const auto opened = store::open_store(o);
    store::Writer& writer = opened->writer();
    std::mutex m;
    std::condition_variable cv;
    int in_flight = 0;
    const auto t0 = steady_clock::now();
    for (std::int64_t first = 1; steady_clock::now() - t0 < std::chrono::seconds(15);
         first += kChildSamples) {
        {
            std::unique_lock lock(m);
            cv.wait(lock, [&] { return in_flight < kChildInFlight; });
            ++in_flight;
        }
        std::vector<telemetry::Sample> request;
        for (int i = 0; i < kChildSamples; ++i)
            request.push_back({device, first + i, {{"v", double(first + i)}, {"w", 1.0}}});
        const bool queued = writer.submit(std::move(request), [&, first](store::CommitStatus st) {
            if (st == store::CommitStatus::committed) {
                char line[48];
                const int n = std::snprintf(line, sizeof line, "ack %lld\n", static_cast<long long>(first));
                if (::write(STDOUT_FILENO, line, static_cast<std::size_t>(n)) != n)
                    std::abort();
            }
            std::lock_guard lock(m);
            --in_flight;
            cv.notify_one();
        });
        if (!queued) {
            std::lock_guard lock(m);
            --in_flight;
        }
        // Paced, so that a cycle stores a few thousand samples rather than as many as the store takes.
        std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
    std::fprintf(stderr, "store child: step %s never passed %d times in 15 s\n", step, at);
    return 3;
}

/// Every stored (ts, metric) of `device` through a read-only reader; empty on failure, with `error` set.
std::vector<store::SampleRow> stored_rows(const std::string& db, const std::string& device,
                                          std::string& error)
{
    try {
        const auto reader = store::open_reader(db);
        return reader->samples({.device = device, .limit = 100'000'000});
    } catch (const std::exception& e) {
        error = e.what();
        return {};
    }
}

} // namespace

class TestCrash : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void killNineLosesNothingAcknowledged();
    void killNineAtEveryStoreStep();

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

void TestCrash::killNineAtEveryStoreStep()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const std::string db = dir.filePath(QStringLiteral("steps.db")).toStdString();
    const auto started = steady_clock::now();
    std::map<std::string, std::set<std::int64_t>>
        acked; // per cycle's device: ts of every acknowledged sample
    std::size_t lost = 0;
    std::size_t duplicated = 0;
    for (int cycle = 0; cycle < kStoreCycles; ++cycle) {
        const char* step = kSteps[cycle % std::size(kSteps)];
        const int at = 1 + 2 * (cycle / int(std::size(kSteps)));
        const std::string device = "s" + std::to_string(cycle);
        QProcess child;
        child.setProgram(QCoreApplication::applicationFilePath());
        child.setArguments({QStringLiteral("--store-child"), QString::fromStdString(db),
                            QString::fromStdString(device), QString::fromLatin1(step), QString::number(at)});
        child.start();
        QVERIFY2(child.waitForStarted(5000), qPrintable(child.errorString()));
        QVERIFY2(child.waitForFinished(30'000), "the store child neither reached its step nor exited");
        QVERIFY2(child.exitStatus() == QProcess::CrashExit,
                 qPrintable(QStringLiteral("the child exited %1 instead of being killed at %2: %3")
                                .arg(child.exitCode())
                                .arg(QString::fromLatin1(step))
                                .arg(QString::fromUtf8(child.readAllStandardError()))));
        std::set<std::int64_t>& mine = acked[device];
        for (const QByteArray& line : child.readAllStandardOutput().split('\n')) {
            if (!line.startsWith("ack "))
                continue;
            const std::int64_t first = line.mid(4).toLongLong();
            for (int i = 0; i < kChildSamples; ++i)
                mine.insert(first + i);
        }
        // This cycle's device one reading at a time; earlier ones by count (they must not change).
        std::string error;
        for (const auto& [name, want] : acked) {
            const auto rows = stored_rows(db, name, error);
            QVERIFY2(error.empty(), error.c_str());
            std::map<std::string, std::set<std::int64_t>> by_metric;
            for (const auto& r : rows) {
                if (!by_metric[r.metric].insert(r.ts).second)
                    ++duplicated;
            }
            for (const char* metric : {"v", "w"}) {
                const auto& got = by_metric[metric];
                for (const std::int64_t ts : want)
                    lost += got.contains(ts) ? 0 : 1;
                // At most the requests in flight at the kill committed unanswered.
                QVERIFY2(got.size() <= want.size() + std::size_t(kChildInFlight * kChildSamples),
                         qPrintable(QStringLiteral("%1 %2: %3 stored, %4 acknowledged")
                                        .arg(QString::fromStdString(name), QString::fromLatin1(metric))
                                        .arg(got.size())
                                        .arg(want.size())));
            }
        }
        qInfo("cycle %d: killed at the %d%s pass of %s; %zu samples acknowledged", cycle, at,
              at == 1   ? "st"
              : at == 3 ? "rd"
                        : "th",
              step, mine.size());
        QCOMPARE(lost, std::size_t(0));
        QCOMPARE(duplicated, std::size_t(0));
    }
    // Last, the files straight through SQLite, after a clean open and stop (which moves everything).
    {
        store::Options o;
        o.path = db;
        store::open_store(o)->writer().stop();
    }
    std::vector<std::pair<std::string, std::int64_t>> rows;
    try {
        rows = read_readings(db);
    } catch (const std::exception& e) {
        QFAIL(e.what());
    }
    std::map<std::string, std::set<std::int64_t>> stored;
    for (auto& [device, ts] : rows)
        duplicated += stored[device].insert(ts).second ? 0 : 1;
    std::size_t total = 0;
    for (const auto& [device, want] : acked) {
        total += want.size();
        for (const std::int64_t ts : want)
            lost += stored[device].contains(ts) ? 0 : 1;
    }
    qInfo(
        "%d kill -9 cycles at store steps, %zu samples acknowledged, %zu lost, %zu duplicated; %.1f s in all",
        kStoreCycles, total, lost, duplicated,
        std::chrono::duration<double>(steady_clock::now() - started).count());
    QVERIFY(total > 0);
    QCOMPARE(lost, std::size_t(0));
    QCOMPARE(duplicated, std::size_t(0));
}

int main(int argc, char** argv)
{
    if (argc == 6 && std::string_view(argv[1]) == "--store-child")
        return store_child(argv[2], argv[3], argv[4], std::atoi(argv[5]));
    QCoreApplication app(argc, argv);
    TestCrash test;
    QTEST_SET_MAIN_SOURCE_PATH
    return QTest::qExec(&test, argc, argv);
}

#include "test_crash.moc"
