// SPDX-License-Identifier: GPL-3.0-or-later
// Store faults over real sockets and a real SQLite file (issue 7, part 3): a full database and a database
// locked by another process. Each affected request gets 503 with Retry-After and a JSON error naming the
// cause, stores nothing of itself, and once the cause goes away the same gateway commits again with no
// restart. At the end the file is read directly: every acknowledged sample is there and no refused one is.
//
// "Full" is the store-max-bytes quota reached (SQLite's SQLITE_FULL, the code a full disk gives too): another
// connection fills the file with a ballast table past the quota, and dropping the ballast frees the space.
// "Locked" is a second process, this test binary started with --hold-lock, holding a write lock with BEGIN
// EXCLUSIVE for longer than store-busy-timeout. Commits go to the recent file (`<db>-recent`): its lock is
// answered 503, while the main file's only holds up compaction, and commits go on.
#include "core/gateway.hpp"
#include "support/http_client.hpp"
#include "support/loopback_settings.hpp"
#include "support/store_files.hpp"

#include <QCoreApplication>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <atomic>
#include <cstdio>
#include <iostream>
#include <memory>
#include <set>
#include <sqlite3.h>
#include <thread>

using namespace fleetscope;
using namespace fleetscope::testing;
namespace json = boost::json;
using std::chrono::steady_clock;

namespace {

constexpr int kClients = 8;
constexpr int kPerRequest = 20; // samples per request: a refused request must leave none of them behind
constexpr int kRetryAfter = 3;
constexpr milliseconds kBusyTimeout{300};
constexpr milliseconds kPhase{1000};

using Key = std::pair<std::string, std::int64_t>; // (device, ts), as read_readings returns them

/// What one posting client saw in one phase. Written by its thread, read by the test thread after join.
struct ClientLog {
    std::string device;
    std::vector<std::int64_t> acked;   // ts of every sample of a request answered 204
    std::vector<std::int64_t> refused; // ts of every sample of a request answered 503
    std::vector<std::string> unexpected;
};

/// A JSON array of kPerRequest samples of `device` with ts = first, first + 1, ...
std::string request_body(const std::string& device, std::int64_t first)
{
    std::string body = "[";
    for (int i = 0; i < kPerRequest; ++i) {
        if (i != 0)
            body += ',';
        body += sample_json(device, first + i, double(i));
    }
    return body + "]";
}

/// Checks one 503: Retry-After, a JSON error containing `cause`, the connection kept. Empty when it is right.
std::string check_503(const Response& res, std::string_view cause)
{
    if (str(res[bhttp::field::retry_after]) != std::to_string(kRetryAfter))
        return "503 with Retry-After '" + str(res[bhttp::field::retry_after]) + "', expected " +
               std::to_string(kRetryAfter);
    boost::system::error_code ec;
    const json::value v = json::parse(res.body(), ec);
    if (ec || !v.is_object() || !v.as_object().contains("error") || !v.at("error").is_string())
        return "503 body is not {\"error\": ...}: " + res.body();
    if (v.at("error").as_string().find(cause) == json::string::npos)
        return "503 error does not say '" + std::string(cause) + "': " + res.body();
    if (!res.keep_alive())
        return "503 closed the connection";
    return {};
}

/// kClients clients, one connection each, post requests of kPerRequest samples back to back until
/// `meanwhile` returns (and the request then in flight is answered). A 204 acknowledges the request's
/// samples, a 503 must carry `cause`; anything else is unexpected. `allow_503` false: every request must get
/// 204.
std::vector<ClientLog> post_while(std::uint16_t port, const std::string& phase, std::string_view cause,
                                  bool allow_503, const std::function<void()>& meanwhile)
{
    std::vector<ClientLog> logs(kClients);
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    for (int t = 0; t < kClients; ++t) {
        logs[std::size_t(t)].device = phase + "-" + std::to_string(t);
        threads.emplace_back([&, t] {
            ClientLog& log = logs[std::size_t(t)];
            HttpClient c;
            if (!c.connect(port)) {
                log.unexpected.push_back("connect: " + c.error().message());
                return;
            }
            for (std::int64_t ts = 1'000; !stop.load(); ts += kPerRequest) {
                auto res = c.request(post_telemetry(request_body(log.device, ts)));
                if (!res) {
                    log.unexpected.push_back("post: " + c.error().message());
                    return;
                }
                auto& into = res->result_int() == 204 ? log.acked : log.refused;
                for (int i = 0; i < kPerRequest; ++i)
                    into.push_back(ts + i);
                if (res->result_int() == 204)
                    continue;
                if (res->result_int() != 503 || !allow_503) {
                    log.unexpected.push_back("status " + std::to_string(res->result_int()) + ": " +
                                             res->body());
                    return;
                }
                if (auto why = check_503(*res, cause); !why.empty()) {
                    log.unexpected.push_back(why);
                    return;
                }
            }
        });
    }
    meanwhile();
    stop.store(true);
    for (auto& t : threads)
        t.join();
    return logs;
}

std::size_t count(const std::vector<ClientLog>& logs, std::vector<std::int64_t> ClientLog::*which)
{
    std::size_t n = 0;
    for (const auto& log : logs)
        n += (log.*which).size();
    return n;
}

/// A connection of the test's own to the gateway's file, as another program would open it.
class Connection {
public:
    explicit Connection(const std::string& path)
    {
        sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr);
        sqlite3_busy_timeout(db_, 5000);
    }
    ~Connection() { sqlite3_close_v2(db_); }
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    /// Empty on success, else SQLite's message.
    std::string exec(const char* sql)
    {
        return sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) == SQLITE_OK ? std::string()
                                                                              : sqlite3_errmsg(db_);
    }

private:
    sqlite3* db_ = nullptr;
};

/// The child mode of this binary: holds the write lock of `path` until stdin closes or says "release".
/// Prints "locked" once it holds it, "released" after.
int hold_lock(const char* path)
{
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
        std::fprintf(stderr, "cannot open %s: %s\n", path, sqlite3_errmsg(db));
        return 1;
    }
    sqlite3_busy_timeout(db, 5000);
    // Writes inside the lock too, as a real program would: the gateway must neither see nor break this.
    if (sqlite3_exec(db,
                     "BEGIN EXCLUSIVE; CREATE TABLE IF NOT EXISTS other_program(x); INSERT INTO "
                     "other_program VALUES (1)",
                     nullptr, nullptr, nullptr) != SQLITE_OK) {
        std::fprintf(stderr, "cannot lock %s: %s\n", path, sqlite3_errmsg(db));
        return 1;
    }
    std::cout << "locked" << std::endl;
    std::string line;
    while (std::getline(std::cin, line) && line != "release") {
    }
    const int rc = sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
    std::cout << (rc == SQLITE_OK ? "released" : sqlite3_errmsg(db)) << std::endl;
    sqlite3_close(db);
    return rc == SQLITE_OK ? 0 : 1;
}

/// Another process holding the database's write lock. Lives on the test thread.
class LockHolder {
public:
    /// Empty when the child holds the lock, else why not.
    QString start(const QString& db)
    {
        process_.setProgram(QCoreApplication::applicationFilePath());
        process_.setArguments({QStringLiteral("--hold-lock"), db});
        process_.start();
        if (!process_.waitForStarted(5000))
            return "cannot start the lock holder: " + process_.errorString();
        return expect("locked");
    }
    /// Empty when the child released the lock and exited 0.
    QString release()
    {
        process_.write("release\n");
        QString why = expect("released");
        if (why.isEmpty() && (!process_.waitForFinished(5000) || process_.exitCode() != 0))
            why = QStringLiteral("the lock holder did not exit 0");
        return why;
    }
    qint64 pid() const { return process_.processId(); }

private:
    QString expect(const QByteArray& line)
    {
        QByteArray out;
        const auto t0 = steady_clock::now();
        while (!out.contains('\n') && steady_clock::now() - t0 < std::chrono::seconds(5)) {
            if (!process_.waitForReadyRead(100) && process_.state() != QProcess::Running)
                break;
            out += process_.readAllStandardOutput();
        }
        if (out.trimmed() == line)
            return {};
        return "lock holder: expected '" + QString::fromLatin1(line) + "', got '" + QString::fromUtf8(out) +
               "'; stderr: " + QString::fromUtf8(process_.readAllStandardError());
    }

    QProcess process_;
};

Settings fault_settings(const QTemporaryDir& dir)
{
    Settings s = loopback_settings(dir, "faults.db");
    s.retry_after_seconds = kRetryAfter;
    s.store_busy_timeout = kBusyTimeout;
    return s;
}

std::unique_ptr<Gateway> start_gateway(const Settings& s)
{
    auto g = std::make_unique<Gateway>(s);
    g->start();
    return g;
}

/// Reads are not writes: GET /v1/devices answers 200 whatever state the writer is in.
bool devices_answer(std::uint16_t port)
{
    HttpClient c;
    if (!c.connect(port))
        return false;
    auto res = c.request(get("/v1/devices"));
    return res && res->result_int() == 200;
}

} // namespace

class TestFaults : public QObject {
    Q_OBJECT

private slots:
    void diskFullAnswers503ThenRecovers();
    void lockedDatabaseAnswers503ThenRecovers();

private:
    /// Adds a phase's outcome for the final check against the file; returns what a client saw that it should
    /// not have, or an empty string.
    QString remember(const std::vector<ClientLog>& logs);
    /// Every acknowledged sample is in the file, once; no refused one is.
    void verify_file(const std::string& path);

    std::set<Key> acked_;
    std::set<Key> refused_;
};

QString TestFaults::remember(const std::vector<ClientLog>& logs)
{
    for (const auto& log : logs) {
        if (!log.unexpected.empty())
            return QString::fromStdString(log.device + ": " + log.unexpected.front());
        for (auto ts : log.acked)
            acked_.emplace(log.device, ts);
        for (auto ts : log.refused)
            refused_.emplace(log.device, ts);
    }
    return {};
}

void TestFaults::verify_file(const std::string& path)
{
    std::vector<Key> rows;
    try {
        rows = read_readings(path);
    } catch (const std::exception& e) {
        QFAIL(e.what());
    }
    const std::set<Key> stored(rows.begin(), rows.end());
    QCOMPARE(stored.size(), rows.size()); // nothing stored twice
    for (const auto& k : acked_)
        QVERIFY2(stored.contains(k), qPrintable(QStringLiteral("acknowledged %1 ts %2 lost")
                                                    .arg(QString::fromStdString(k.first))
                                                    .arg(k.second)));
    for (const auto& k : refused_)
        QVERIFY2(!stored.contains(k), qPrintable(QStringLiteral("%1 ts %2 answered 503 but stored")
                                                     .arg(QString::fromStdString(k.first))
                                                     .arg(k.second)));
    QCOMPARE(stored.size(), acked_.size());
    qInfo("file check: %zu acknowledged samples stored, %zu refused samples absent", acked_.size(),
          refused_.size());
}

void TestFaults::diskFullAnswers503ThenRecovers()
{
    acked_.clear();
    refused_.clear();
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    Settings s = fault_settings(dir);
    // Room for a few seconds of these clients on a quiet machine, so only the ballast fills it. (The lean
    // writer of Store v2 commits these clients' 8 MiB within the two phases before the ballast goes.)
    s.store_max_bytes = 32 * 1024 * 1024;
    auto g = start_gateway(s);
    const auto port = g->port();
    auto sleep = [] { std::this_thread::sleep_for(kPhase); };

    QString why;
    auto logs = post_while(port, "before", {}, false, sleep);
    why = remember(logs);
    QVERIFY2(why.isEmpty(), qPrintable(why));
    QVERIFY(count(logs, &ClientLog::acked) > 0);

    // Another program fills the file past the quota: every page the gateway would add is now beyond it.
    Connection other(s.db_path);
    QCOMPARE(other.exec("CREATE TABLE ballast(b BLOB); INSERT INTO ballast VALUES (zeroblob(40000000))"),
             std::string());
    bool read_while_full = false;
    logs = post_while(port, "full", "database full: it reached store-max-bytes = 33554432 bytes", true, [&] {
        sleep();
        read_while_full = devices_answer(port);
    });
    why = remember(logs);
    QVERIFY2(why.isEmpty(), qPrintable(why));
    QVERIFY2(read_while_full, "GET /v1/devices failed while the database was full");
    const std::size_t refused = count(logs, &ClientLog::refused);
    qInfo("full: %zu samples answered 503, %zu acknowledged", refused, count(logs, &ClientLog::acked));
    // A few may still fit in the last page's free room; far from all.
    QVERIFY2(refused > count(logs, &ClientLog::acked), "the full database acknowledged most requests");

    // Space comes back: the same gateway commits again, every request.
    QCOMPARE(other.exec("DROP TABLE ballast"), std::string());
    logs = post_while(port, "freed", {}, false, sleep);
    why = remember(logs);
    QVERIFY2(why.isEmpty(), qPrintable(why));
    QVERIFY(count(logs, &ClientLog::acked) > 0);

    // Full again, and stopped while full: the stop neither hangs nor crashes, and a restart with the quota
    // raised commits at once.
    QCOMPARE(other.exec("CREATE TABLE ballast(b BLOB); INSERT INTO ballast VALUES (zeroblob(48000000))"),
             std::string());
    logs = post_while(port, "full-again", "database full", true, sleep);
    why = remember(logs);
    QVERIFY2(why.isEmpty(), qPrintable(why));
    QVERIFY(count(logs, &ClientLog::refused) > 0);
    g->stop();
    g.reset();
    s.store_max_bytes = 0;
    g = start_gateway(s);
    logs = post_while(g->port(), "raised", {}, false, sleep);
    why = remember(logs);
    QVERIFY2(why.isEmpty(), qPrintable(why));
    QVERIFY(count(logs, &ClientLog::acked) > 0);
    g->stop();
    verify_file(s.db_path);
}

void TestFaults::lockedDatabaseAnswers503ThenRecovers()
{
    acked_.clear();
    refused_.clear();
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    Settings s = fault_settings(dir);
    auto g = start_gateway(s);
    const auto port = g->port();
    auto sleep = [] { std::this_thread::sleep_for(kPhase); };

    QString why;
    auto logs = post_while(port, "before", {}, false, sleep);
    why = remember(logs);
    QVERIFY2(why.isEmpty(), qPrintable(why));
    QVERIFY(count(logs, &ClientLog::acked) > 0);

    // Another process holding the main file's write lock holds up only the compactor: every request is
    // committed, to the recent file, and reads go on.
    LockHolder main_holder;
    why = main_holder.start(QString::fromStdString(s.db_path));
    QVERIFY2(why.isEmpty(), qPrintable(why));
    bool read_while_main_locked = false;
    logs = post_while(port, "main-locked", {}, false, [&] {
        sleep();
        read_while_main_locked = devices_answer(port);
    });
    why = remember(logs);
    QVERIFY2(why.isEmpty(), qPrintable(why));
    QVERIFY2(read_while_main_locked, "GET /v1/devices failed while another process held the main file");
    QVERIFY(count(logs, &ClientLog::acked) > 0);
    qInfo("main file locked: %zu samples acknowledged while process %lld held its lock",
          count(logs, &ClientLog::acked), static_cast<long long>(main_holder.pid()));
    why = main_holder.release();
    QVERIFY2(why.isEmpty(), qPrintable(why));

    // While another process holds the recent file's write lock, every answer is a 503 naming the lock: the
    // clients stop (and their last requests are answered) before the lock goes.
    const QString recent = QString::fromStdString(s.db_path + "-recent");
    LockHolder holder;
    why = holder.start(recent);
    QVERIFY2(why.isEmpty(), qPrintable(why));
    const std::string cause = "database locked by another process: its write lock was held longer than "
                              "store-busy-timeout = " +
                              std::to_string(kBusyTimeout.count()) + " ms";
    bool read_while_locked = false;
    logs = post_while(port, "locked", cause, true, [&] {
        sleep();
        read_while_locked = devices_answer(port); // WAL: readers go on under another process's write lock
    });
    why = remember(logs);
    QVERIFY2(why.isEmpty(), qPrintable(why));
    QVERIFY2(read_while_locked, "GET /v1/devices failed while another process held the write lock");
    QCOMPARE(count(logs, &ClientLog::acked), std::size_t(0));
    QVERIFY(count(logs, &ClientLog::refused) > 0);
    qInfo("locked: %zu samples answered 503 while process %lld held the lock",
          count(logs, &ClientLog::refused), static_cast<long long>(holder.pid()));

    // Released: the same gateway commits every request again.
    why = holder.release();
    QVERIFY2(why.isEmpty(), qPrintable(why));
    logs = post_while(port, "released", {}, false, sleep);
    why = remember(logs);
    QVERIFY2(why.isEmpty(), qPrintable(why));
    QVERIFY(count(logs, &ClientLog::acked) > 0);

    // A stop while another process holds the main file's lock waits out the busy timeout a few times (the
    // last compaction, the session's end, the last checkpoint), not once per batch; what it could not move
    // stays in the recent file, where the file check below finds it.
    LockHolder again;
    why = again.start(QString::fromStdString(s.db_path));
    QVERIFY2(why.isEmpty(), qPrintable(why));
    const auto t0 = steady_clock::now();
    g->stop();
    const auto stop_ms = std::chrono::duration_cast<milliseconds>(steady_clock::now() - t0).count();
    qInfo("stop under another process's lock took %lld ms (busy timeout %lld ms)",
          static_cast<long long>(stop_ms), static_cast<long long>(kBusyTimeout.count()));
    QVERIFY2(stop_ms < 6 * kBusyTimeout.count(), qPrintable(QString::number(stop_ms)));
    why = again.release();
    QVERIFY2(why.isEmpty(), qPrintable(why));
    verify_file(s.db_path);
}

int main(int argc, char** argv)
{
    if (argc == 3 && std::string_view(argv[1]) == "--hold-lock")
        return hold_lock(argv[2]);
    QCoreApplication app(argc, argv);
    TestFaults test;
    QTEST_SET_MAIN_SOURCE_PATH
    return QTest::qExec(&test, argc, argv);
}

#include "test_faults.moc"
