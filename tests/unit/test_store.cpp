// SPDX-License-Identifier: GPL-3.0-or-later
// The SQLite store on real files: group commit, acknowledgement only after commit, backpressure, stop, schema
// versioning, recovery from a locked database, and the query filters over both the recent and the compacted
// tables.
#include "core/store/capture.hpp"
#include "core/store/sqlite/hooks.hpp"
#include "core/store/sqlite/schema.hpp"
#include "core/store/store.hpp"
#include "support/sqlite_probe.hpp"

#include <QTemporaryDir>
#include <QTest>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sqlite3.h>
#include <thread>
#include <utility>
#include <vector>

using namespace fleetscope;
using store::CommitStatus;
using store::Store;

namespace {

telemetry::Sample sample(std::string device, std::int64_t ts, std::vector<telemetry::Metric> metrics)
{
    return telemetry::Sample{std::move(device), ts, std::move(metrics)};
}

/// Collects callback outcomes from the writer thread; the test thread waits on it.
class Outcomes {
public:
    store::CommitCallback callback(std::size_t index)
    {
        {
            std::lock_guard lock(m_);
            if (calls_.size() <= index)
                calls_.resize(index + 1);
        }
        return [this, index](CommitStatus s) {
            std::lock_guard lock(m_);
            calls_[index].push_back(s);
            ++total_;
            cv_.notify_all();
        };
    }
    bool wait_for(std::size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(20))
    {
        std::unique_lock lock(m_);
        return cv_.wait_for(lock, timeout, [&] { return total_ >= n; });
    }
    /// Every expected request was called exactly once with `status`.
    bool all_exactly_once(std::size_t n, CommitStatus status)
    {
        std::lock_guard lock(m_);
        if (calls_.size() < n)
            return false;
        for (std::size_t i = 0; i < n; ++i) {
            if (calls_[i].size() != 1 || calls_[i][0] != status)
                return false;
        }
        return true;
    }

private:
    std::mutex m_;
    std::condition_variable cv_;
    std::vector<std::vector<CommitStatus>> calls_;
    std::size_t total_ = 0;
};

/// Parks the writer thread inside a commit callback until released, so that submissions pile up in the queue.
class WriterGate {
public:
    store::CommitCallback blocker()
    {
        return [this](CommitStatus) {
            std::unique_lock lock(m_);
            entered_ = true;
            cv_.notify_all();
            cv_.wait(lock, [&] { return open_; });
        };
    }
    bool wait_entered()
    {
        std::unique_lock lock(m_);
        return cv_.wait_for(lock, std::chrono::seconds(10), [&] { return entered_; });
    }
    void open()
    {
        std::lock_guard lock(m_);
        open_ = true;
        cv_.notify_all();
    }

private:
    std::mutex m_;
    std::condition_variable cv_;
    bool entered_ = false;
    bool open_ = false;
};

store::Options options_at(const QTemporaryDir& dir, const char* name = "fleet.db")
{
    store::Options o;
    o.path = dir.filePath(QString::fromLatin1(name)).toStdString();
    return o;
}

int user_version(const std::string& path)
{
    sqlite3* db = nullptr;
    sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, nullptr);
    const int v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

std::int64_t main_rows(const std::string& path)
{
    return testing::sqlite_scalar(path, "SELECT coalesce(sum(readings), 0) FROM chunks");
}
std::int64_t moved_through(const std::string& path)
{
    return testing::sqlite_scalar(path, "SELECT moved_through FROM compaction");
}
std::int64_t recent_rows(const std::string& path)
{
    return testing::sqlite_scalar(store::sqlite::recent_path(path), "SELECT count(*) FROM recent");
}

/// A second connection to the store's file, as another process would hold it.
class Connection {
public:
    explicit Connection(const std::string& path)
    {
        sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
        sqlite3_busy_timeout(db_, 5000);
    }
    ~Connection() { sqlite3_close_v2(db_); }
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    int exec(const char* sql) { return sqlite3_exec(db_, sql, nullptr, nullptr, nullptr); }

private:
    sqlite3* db_ = nullptr;
};

/// `n` samples of `device` at ts = first, first + 1, ..., one metric each.
std::vector<telemetry::Sample> many(const std::string& device, std::size_t n, std::int64_t first = 0)
{
    std::vector<telemetry::Sample> out;
    for (std::size_t i = 0; i < n; ++i)
        out.push_back(sample(device, first + std::int64_t(i), {{"m", double(i)}}));
    return out;
}

std::string rows_text(const std::vector<store::SampleRow>& rows)
{
    std::string s;
    for (const auto& r : rows)
        s += std::to_string(r.ts) + ":" + r.metric + "=" + std::to_string(r.value) + " ";
    return s;
}

/// d1 reports a and b at ts 100..109 (a = ts, b = -ts); d2 reports a at the same times, value 1000 + ts.
/// Submitted out of ts order, in three requests.
void write_fixture(Store& s)
{
    Outcomes out;
    std::vector<telemetry::Sample> r0, r1, r2;
    for (std::int64_t ts = 109; ts >= 105; --ts)
        r0.push_back(sample("d1", ts, {{"b", double(-ts)}, {"a", double(ts)}}));
    for (std::int64_t ts = 100; ts < 105; ++ts)
        r1.push_back(sample("d1", ts, {{"a", double(ts)}, {"b", double(-ts)}}));
    for (std::int64_t ts = 100; ts < 110; ++ts)
        r2.push_back(sample("d2", ts, {{"a", double(1000 + ts)}}));
    QVERIFY(s.writer().submit(std::move(r0), out.callback(0)));
    QVERIFY(s.writer().submit(std::move(r1), out.callback(1)));
    QVERIFY(s.writer().submit(std::move(r2), out.callback(2)));
    QVERIFY(out.wait_for(3));
    QVERIFY(out.all_exactly_once(3, CommitStatus::committed));
}

} // namespace

class TestStore : public QObject {
    Q_OBJECT

private slots:
    void roundTrip()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        auto opt = options_at(dir, "nested/folder/fleet.db");
        auto s = store::open_store(opt);
        QCOMPARE(s->location(), opt.path);
        Outcomes out;
        QVERIFY(s->writer().submit({sample("pump-17", 1'732'630'000'123, {{"temp_c", 21.5}, {"rssi", -67}})},
                                   out.callback(0)));
        QVERIFY(s->writer().submit({sample("pump-17", 1'732'630'000'200, {{"temp_c", 21.75}}),
                                    sample("valve-2", 1'732'630'000'100, {{"open", 1}})},
                                   out.callback(1)));
        QVERIFY(out.wait_for(2));
        QVERIFY(out.all_exactly_once(2, CommitStatus::committed));

        const auto devices = s->reader().devices();
        QCOMPARE(devices.size(), std::size_t(2));
        QCOMPARE(devices[0].device, std::string("pump-17"));
        QCOMPARE(devices[0].first_seen, std::int64_t(1'732'630'000'123));
        QCOMPARE(devices[0].last_seen, std::int64_t(1'732'630'000'200));
        QCOMPARE(devices[0].samples, std::int64_t(2));
        QCOMPARE(devices[1].device, std::string("valve-2"));
        QCOMPARE(devices[1].samples, std::int64_t(1));

        const auto rows = s->reader().samples({.device = "pump-17"});
        QCOMPARE(rows_text(rows), std::string("1732630000123:rssi=-67.000000 1732630000123:temp_c=21.500000 "
                                              "1732630000200:temp_c=21.750000 "));
        QVERIFY(s->reader().samples({.device = "nobody"}).empty());
        QVERIFY(s->reader().samples({.device = "pump-17", .metric = "nothing"}).empty());

        const auto st = s->writer().stats();
        QCOMPARE(st.committed_requests, std::uint64_t(2));
        QCOMPARE(st.committed_samples, std::uint64_t(3));
        QCOMPARE(st.failed_batches, std::uint64_t(0));
        QVERIFY(st.batches >= 1);
    }

    void concurrentSubmitters()
    {
        QTemporaryDir dir;
        auto s = store::open_store(options_at(dir));
        constexpr int kThreads = 4;
        constexpr int kPerThread = 400;
        Outcomes out;
        std::vector<store::CommitCallback> callbacks;
        for (std::size_t i = 0; i < kThreads * kPerThread; ++i)
            callbacks.push_back(out.callback(i));
        std::atomic<int> refused{0};
        std::vector<std::thread> threads;
        for (int t = 0; t < kThreads; ++t) {
            threads.emplace_back([&, t] {
                for (int i = 0; i < kPerThread; ++i) {
                    const std::string device = "dev-" + std::to_string(t);
                    if (!s->writer().submit({sample(device, 1000 + i, {{"x", double(i)}, {"y", double(t)}})},
                                            std::move(callbacks[std::size_t(t * kPerThread + i)])))
                        refused.fetch_add(1);
                }
            });
        }
        for (auto& th : threads)
            th.join();
        QCOMPARE(refused.load(), 0);
        QVERIFY(out.wait_for(kThreads * kPerThread));
        QVERIFY(out.all_exactly_once(kThreads * kPerThread, CommitStatus::committed));

        for (int t = 0; t < kThreads; ++t) {
            const std::string device = "dev-" + std::to_string(t);
            const auto rows = s->reader().samples({.device = device, .limit = 100'000});
            QCOMPARE(rows.size(), std::size_t(2 * kPerThread));
            for (int i = 0; i < kPerThread; ++i) {
                QCOMPARE(rows[std::size_t(2 * i)].ts, std::int64_t(1000 + i));
                QCOMPARE(rows[std::size_t(2 * i)].metric, std::string("x"));
                QCOMPARE(rows[std::size_t(2 * i)].value, double(i));
                QCOMPARE(rows[std::size_t(2 * i + 1)].metric, std::string("y"));
            }
        }
        const auto st = s->writer().stats();
        QCOMPARE(st.committed_requests, std::uint64_t(kThreads * kPerThread));
        QVERIFY2(st.batches < st.committed_requests,
                 "group commit never put two requests in one transaction");
    }

    void overloadRefusesAndLosesNothing()
    {
        QTemporaryDir dir;
        auto opt = options_at(dir);
        opt.queue_samples = 8;
        auto s = store::open_store(opt);
        WriterGate gate;
        QVERIFY(s->writer().submit({sample("d", 1, {{"m", 1}})}, gate.blocker()));
        QVERIFY(gate.wait_entered());

        // The writer is parked: the queue fills to its bound of 8 samples and then refuses.
        Outcomes out;
        std::size_t accepted = 0;
        for (int i = 0; i < 20; ++i) {
            if (s->writer().submit(
                    {sample("d", 10 + i, {{"m", double(i)}}), sample("d", 100 + i, {{"m", double(i)}})},
                    out.callback(accepted)))
                ++accepted;
        }
        QCOMPARE(accepted, std::size_t(4));
        QCOMPARE(s->writer().stats().rejected_overload, std::uint64_t(16));
        QCOMPARE(s->writer().stats().queue_samples, std::size_t(8));
        // A request that would cross the bound is refused even when smaller ones would fit.
        QVERIFY(!s->writer().submit({sample("d", 5, {{"m", 1}})},
                                    [](CommitStatus) { QFAIL("refused work was called"); }));

        gate.open();
        QVERIFY(out.wait_for(accepted));
        QVERIFY(out.all_exactly_once(accepted, CommitStatus::committed));
        QCOMPARE(s->reader().samples({.device = "d"}).size(), std::size_t(1 + 2 * accepted));
        QCOMPARE(s->writer().stats().queue_samples, std::size_t(0));
    }

    void stopCommitsQueuedWork()
    {
        QTemporaryDir dir;
        const auto opt = options_at(dir);
        Outcomes out;
        constexpr std::size_t kQueued = 50;
        {
            auto s = store::open_store(opt);
            WriterGate gate;
            QVERIFY(s->writer().submit({sample("d", 0, {{"m", 0}})}, gate.blocker()));
            QVERIFY(gate.wait_entered());
            for (std::size_t i = 0; i < kQueued; ++i)
                QVERIFY(s->writer().submit({sample("d", std::int64_t(i + 1), {{"m", double(i)}})},
                                           out.callback(i)));
            gate.open();
            s->writer().stop();
            QVERIFY(out.all_exactly_once(kQueued, CommitStatus::committed));
            QVERIFY(!s->writer().submit({sample("d", 99, {{"m", 0}})},
                                        [](CommitStatus) { QFAIL("called after stop"); }));
            s->writer().stop(); // idempotent
            QCOMPARE(s->reader().samples({.device = "d"}).size(), kQueued + 1);
        }
        auto again = store::open_store(opt);
        QCOMPARE(again->reader().samples({.device = "d"}).size(), kQueued + 1);
    }

    void reopenFindsEverything()
    {
        QTemporaryDir dir;
        const auto opt = options_at(dir);
        // Enough rows to pass the compaction threshold at least once, plus a remainder left in `recent`.
        constexpr int kRequests = 45;
        constexpr int kPerRequest = 1000;
        {
            auto s = store::open_store(opt);
            Outcomes out;
            for (int r = 0; r < kRequests; ++r) {
                std::vector<telemetry::Sample> batch;
                for (int i = 0; i < kPerRequest; ++i) {
                    const int n = r * kPerRequest + i;
                    batch.push_back(sample("dev-" + std::to_string(n % 7), n, {{"a", double(n)}}));
                }
                QVERIFY(s->writer().submit(std::move(batch), out.callback(std::size_t(r))));
            }
            QVERIFY(out.wait_for(kRequests));
            QVERIFY(out.all_exactly_once(kRequests, CommitStatus::committed));
            // Read while part of the data is compacted and part is recent.
            QCOMPARE(
                s->reader().samples({.device = "dev-3", .limit = 1'000'000}).size(),
                std::size_t((kRequests * kPerRequest) / 7 + ((kRequests * kPerRequest) % 7 > 3 ? 1 : 0)));
        }
        QCOMPARE(user_version(opt.path), store::kSchemaVersion);
        auto s = store::open_store(opt);
        const auto devices = s->reader().devices();
        QCOMPARE(devices.size(), std::size_t(7));
        std::int64_t total = 0;
        for (const auto& d : devices) {
            total += d.samples;
            const auto rows = s->reader().samples({.device = d.device, .limit = 1'000'000});
            QCOMPARE(std::int64_t(rows.size()), d.samples);
            for (std::size_t i = 1; i < rows.size(); ++i)
                QVERIFY(rows[i - 1].ts < rows[i].ts);
            for (const auto& row : rows)
                QCOMPARE(row.value, double(row.ts));
        }
        QCOMPARE(total, std::int64_t(kRequests * kPerRequest));
        QCOMPARE(user_version(opt.path), store::kSchemaVersion);
    }

    void repeatedTimestampsAreKept()
    {
        QTemporaryDir dir;
        const auto opt = options_at(dir);
        {
            auto s = store::open_store(opt);
            Outcomes out;
            QVERIFY(s->writer().submit({sample("d", 5, {{"m", 1}}), sample("d", 5, {{"m", 2}})},
                                       out.callback(0)));
            QVERIFY(out.wait_for(1));
            s->writer().stop(); // compacts: the two readings of (d, m, 5) must both survive
        }
        {
            auto s = store::open_store(opt);
            Outcomes out;
            QVERIFY(s->writer().submit({sample("d", 5, {{"m", 3}})}, out.callback(0)));
            QVERIFY(out.wait_for(1));
            QCOMPARE(s->reader().samples({.device = "d"}).size(), std::size_t(3));
        } // compacts again, against rows already stored
        auto s = store::open_store(opt);
        const auto rows = s->reader().samples({.device = "d"});
        QCOMPARE(rows.size(), std::size_t(3));
        std::vector<double> values;
        for (const auto& r : rows)
            values.push_back(r.value);
        std::sort(values.begin(), values.end());
        QCOMPARE(values, (std::vector<double>{1, 2, 3}));
        QCOMPARE(s->reader().devices().at(0).samples, std::int64_t(3));
    }

    void newerSchemaIsRefused()
    {
        QTemporaryDir dir;
        const auto opt = options_at(dir);
        const int newer = store::kSchemaVersion + 1;
        sqlite3* db = nullptr;
        QCOMPARE(sqlite3_open(opt.path.c_str(), &db), SQLITE_OK);
        const std::string bump = "PRAGMA user_version = " + std::to_string(newer);
        QCOMPARE(sqlite3_exec(db, bump.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
        sqlite3_close(db);
        try {
            auto s = store::open_store(opt);
            QFAIL("a newer schema was opened");
        } catch (const store::StoreError& e) {
            const std::string what = e.what();
            QVERIFY2(what.find("schema version " + std::to_string(newer)) != std::string::npos, e.what());
            QVERIFY2(what.find("at most " + std::to_string(store::kSchemaVersion)) != std::string::npos,
                     e.what());
            QVERIFY2(what.find(opt.path) != std::string::npos, e.what());
        }
        QCOMPARE(user_version(opt.path), newer);
    }

    // A database written by the first release (schema 1) opens, keeps its telemetry and gains sessions.
    void schemaOneMigrates()
    {
        QTemporaryDir dir;
        const auto opt = options_at(dir);
        {
            sqlite3* db = nullptr;
            QCOMPARE(sqlite3_open(opt.path.c_str(), &db), SQLITE_OK);
            const char* v1 = R"sql(
                CREATE TABLE devices(id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL,
                    first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL, samples INTEGER NOT NULL DEFAULT 0);
                CREATE TABLE metrics(id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL);
                CREATE TABLE samples(device_id INTEGER NOT NULL, metric_id INTEGER NOT NULL, ts INTEGER NOT NULL,
                    seq INTEGER NOT NULL DEFAULT 0, value REAL NOT NULL,
                    PRIMARY KEY (device_id, metric_id, ts, seq)) WITHOUT ROWID;
                CREATE TABLE recent(device_id INTEGER NOT NULL, metric_id INTEGER NOT NULL, ts INTEGER NOT NULL,
                    value REAL NOT NULL);
                INSERT INTO devices VALUES (1, 'old-1', 1000, 2000, 2);
                INSERT INTO metrics VALUES (1, 'temp_c');
                INSERT INTO samples VALUES (1, 1, 1000, 0, 20.5);
                INSERT INTO recent VALUES (1, 1, 2000, 21.5);
                PRAGMA user_version = 1;)sql";
            QCOMPARE(sqlite3_exec(db, v1, nullptr, nullptr, nullptr), SQLITE_OK);
            sqlite3_close(db);
        }
        auto with_session = opt;
        with_session.app_version = "test";
        with_session.settings_json = R"({"workers":1})";
        auto s = store::open_store(with_session);
        QCOMPARE(user_version(opt.path), store::kSchemaVersion);
        const auto rows = s->reader().samples({.device = "old-1"});
        QCOMPARE(rows.size(), std::size_t(2));
        QCOMPARE(rows[0].value, 20.5);
        QCOMPARE(rows[1].value, 21.5);
        const auto sessions = s->reader().sessions();
        QCOMPARE(sessions.size(), std::size_t(1));
        QCOMPARE(sessions[0].id, s->writer().session_id());
        QCOMPARE(sessions[0].settings_json, std::string(R"({"workers":1})"));
    }

    // A version-2 database (a row per reading, repeats numbered by seq, and rows a killed gateway left in its
    // in-file `recent`) converts to chunks on open, every reading kept, repeats and all, across buckets.
    void schemaTwoMigratesEveryReading()
    {
        QTemporaryDir dir;
        const auto opt = options_at(dir);
        constexpr int kPerSeries = 3000; // every 100 ms: 300 s, five buckets
        {
            sqlite3* db = nullptr;
            QCOMPARE(sqlite3_open(opt.path.c_str(), &db), SQLITE_OK);
            std::string sql = R"sql(
                CREATE TABLE devices(id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL,
                    first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL, samples INTEGER NOT NULL DEFAULT 0);
                CREATE TABLE metrics(id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL);
                CREATE TABLE samples(device_id INTEGER NOT NULL, metric_id INTEGER NOT NULL, ts INTEGER NOT NULL,
                    seq INTEGER NOT NULL DEFAULT 0, value REAL NOT NULL,
                    PRIMARY KEY (device_id, metric_id, ts, seq)) WITHOUT ROWID;
                CREATE TABLE recent(device_id INTEGER NOT NULL, metric_id INTEGER NOT NULL, ts INTEGER NOT NULL,
                    value REAL NOT NULL);
                CREATE TABLE sessions(id INTEGER PRIMARY KEY, started_at INTEGER NOT NULL, ended_at INTEGER,
                    end_reason TEXT, app_version TEXT NOT NULL, settings TEXT NOT NULL);
                CREATE TABLE marks(id INTEGER PRIMARY KEY, session_id INTEGER NOT NULL, label TEXT NOT NULL,
                    from_ts INTEGER NOT NULL, to_ts INTEGER NOT NULL);
                CREATE TABLE timeline(session_id INTEGER NOT NULL, series TEXT NOT NULL, ts INTEGER NOT NULL,
                    value REAL NOT NULL, PRIMARY KEY (session_id, series, ts)) WITHOUT ROWID;
                CREATE TABLE alerts(id INTEGER PRIMARY KEY, session_id INTEGER NOT NULL, rule TEXT NOT NULL,
                    subject TEXT NOT NULL, severity TEXT NOT NULL, raised_at INTEGER NOT NULL, cleared_at INTEGER,
                    acked_at INTEGER, message TEXT NOT NULL);
                CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
                INSERT INTO devices VALUES (1, 'a', 0, 299900, 3001), (2, 'b', 0, 299900, 3000);
                INSERT INTO metrics VALUES (1, 'x'), (2, 'y');
                WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 2999)
                INSERT INTO samples SELECT d, m, i * 100, 0, d * 1000000 + m * 10000 + i
                FROM n, (SELECT 1 AS d UNION ALL SELECT 2), (SELECT 1 AS m UNION ALL SELECT 2);
                INSERT INTO samples VALUES (1, 1, 500, 1, -1);
                INSERT INTO recent VALUES (1, 1, 500, -2), (1, 2, 299950, -3);
                PRAGMA user_version = 2;)sql";
            QCOMPARE(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
            sqlite3_close(db);
        }
        auto s = store::open_store(opt);
        QCOMPARE(user_version(opt.path), store::kSchemaVersion);
        QCOMPARE(main_rows(opt.path), std::int64_t(4 * kPerSeries + 3));
        QVERIFY(testing::sqlite_scalar(opt.path, "SELECT count(*) FROM chunks") >=
                4 * 5); // per series, one chunk a bucket at least
        const auto ax = s->reader().samples({.device = "a", .metric = "x", .limit = 100'000});
        QCOMPARE(ax.size(), std::size_t(kPerSeries + 2));
        for (std::size_t i = 1; i < ax.size(); ++i)
            QVERIFY(ax[i - 1].ts <= ax[i].ts);
        // The three readings of (a, x, 500): the stored ones in seq order, then the recent one.
        const auto at500 = s->reader().samples({.device = "a", .metric = "x", .from = 500, .to = 500});
        QCOMPARE(at500.size(), std::size_t(3));
        QCOMPARE(at500[0].value, 1'010'005.0);
        QCOMPARE(at500[1].value, -1.0);
        QCOMPARE(at500[2].value, -2.0);
        const auto ay = s->reader().samples({.device = "a", .metric = "y", .from = 299'900});
        QCOMPARE(ay.size(), std::size_t(2));
        QCOMPARE(ay[1].value, -3.0);
        const auto b = s->reader().samples({.device = "b", .limit = 100'000});
        QCOMPARE(b.size(), std::size_t(2 * kPerSeries));
        for (std::size_t i = 0; i < b.size(); ++i) {
            QCOMPARE(b[i].ts, std::int64_t(i / 2) * 100);
            QCOMPARE(b[i].metric, std::string(i % 2 ? "y" : "x"));
            QCOMPARE(b[i].value, 2'000'000.0 + (i % 2 ? 20'000 : 10'000) + double(i / 2));
        }
        QCOMPARE(s->reader().devices().at(0).samples, std::int64_t(3001));
        // The latest readings of a long range come from the last buckets, in time order.
        const auto latest = s->reader().samples({.device = "b", .metric = "x", .limit = 3, .latest = true});
        QCOMPARE(latest.size(), std::size_t(3));
        QCOMPARE(latest[0].ts, std::int64_t(299'700));
        QCOMPARE(latest[2].ts, std::int64_t(299'900));
    }

    // Each run is a session; one that was never stopped is closed as a crash by the next open.
    void sessionsRecordEachRun()
    {
        QTemporaryDir dir;
        auto opt = options_at(dir);
        opt.app_version = "9.9.9";
        opt.settings_json = "{}";
        std::int64_t first = 0;
        {
            auto s = store::open_store(opt);
            first = s->writer().session_id();
            QVERIFY(first > 0);
            const auto open = s->reader().sessions();
            QCOMPARE(open.size(), std::size_t(1));
            QVERIFY(!open[0].ended_at);
        }
        {
            auto s = store::open_store(opt);
            QVERIFY(s->writer().session_id() > first);
            // A mark is written after commits, by the compactor's thread, and is there once the store stops.
            QCOMPARE(s->writer().add_mark("span", 1, 2).error(), std::string());
            s->writer().stop();
            const auto marks = s->reader().marks();
            QCOMPARE(marks.size(), std::size_t(1));
            QCOMPARE(marks[0].label, std::string("span"));
            QCOMPARE(marks[0].session_id, s->writer().session_id());
            // Simulates two crashes: sessions that were never stopped stay open in the file.
            sqlite3* db = nullptr;
            QCOMPARE(sqlite3_open(opt.path.c_str(), &db), SQLITE_OK);
            QCOMPARE(sqlite3_exec(db, "UPDATE sessions SET ended_at = NULL, end_reason = NULL", nullptr,
                                  nullptr, nullptr),
                     SQLITE_OK);
            sqlite3_close(db);
        }
        auto s = store::open_store(opt);
        const auto all = s->reader().sessions();
        QCOMPARE(all.size(), std::size_t(3));
        for (std::size_t i = 0; i < 2; ++i) {
            QCOMPARE(all[i].end_reason, std::string("crash"));
            QVERIFY(all[i].ended_at && *all[i].ended_at >= all[i].started_at);
            QCOMPARE(all[i].app_version, std::string("9.9.9"));
        }
        QVERIFY(!all[2].ended_at);
        s->writer().stop();
        const auto stopped = s->reader().sessions();
        QCOMPARE(stopped.back().end_reason, std::string("stop"));
        QVERIFY(stopped.back().ended_at.has_value());
    }

    void notADatabaseIsRefused()
    {
        QTemporaryDir dir;
        const auto opt = options_at(dir);
        std::ofstream(opt.path) << std::string(8192, 'x');
        try {
            auto s = store::open_store(opt);
            QFAIL("a file that is not a database was opened");
        } catch (const store::StoreError& e) {
            QVERIFY2(std::string(e.what()).find(opt.path) != std::string::npos, e.what());
        }
    }

    // Commits go to the recent file: another process holding its write lock past the busy timeout fails them
    // as `locked`, and they resume when it lets go.
    void lockedRecentFileFailsThenRecovers()
    {
        QTemporaryDir dir;
        auto opt = options_at(dir);
        opt.busy_timeout = std::chrono::milliseconds(50);
        auto s = store::open_store(opt);
        sqlite3* other = nullptr;
        QCOMPARE(sqlite3_open(store::sqlite::recent_path(opt.path).c_str(), &other), SQLITE_OK);
        QCOMPARE(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);

        Outcomes out;
        QVERIFY(s->writer().submit({sample("d", 1, {{"m", 1}})}, out.callback(0)));
        QVERIFY(out.wait_for(1));
        QVERIFY(out.all_exactly_once(1, CommitStatus::locked));
        QCOMPARE(s->writer().stats().failed_batches, std::uint64_t(1));

        QCOMPARE(sqlite3_exec(other, "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK);
        sqlite3_close(other);
        Outcomes again;
        QVERIFY(s->writer().submit({sample("d", 2, {{"m", 2}})}, again.callback(0)));
        QVERIFY(again.wait_for(1));
        QVERIFY(again.all_exactly_once(1, CommitStatus::committed));
        const auto rows = s->reader().samples({.device = "d"});
        QCOMPARE(rows.size(), std::size_t(1));
        QCOMPARE(rows[0].ts, std::int64_t(2));
        QCOMPARE(s->reader().devices().at(0).samples, std::int64_t(1));
    }

    // The main file is the compactor's alone: while another process holds its write lock (as a compaction
    // that takes long would), commits go on and are read from the recent file; the held-up compaction moves
    // them once the lock goes. Before the recent file had a file of its own, every commit here failed.
    void commitsNeverWaitForTheMainFile()
    {
        QTemporaryDir dir;
        auto opt = options_at(dir);
        opt.busy_timeout = std::chrono::milliseconds(100);
        auto s = store::open_store(opt);
        Connection other(opt.path);
        QCOMPARE(other.exec("BEGIN EXCLUSIVE"), SQLITE_OK);
        // Past the compaction threshold, in requests that each wait for their commit.
        constexpr std::size_t kRequests = 40;
        constexpr std::size_t kPerRequest = 1000;
        for (std::size_t r = 0; r < kRequests; ++r) {
            Outcomes out;
            QVERIFY(
                s->writer().submit(many("d", kPerRequest, std::int64_t(r * kPerRequest)), out.callback(0)));
            QVERIFY(out.wait_for(1));
            QVERIFY(out.all_exactly_once(1, CommitStatus::committed));
        }
        QCOMPARE(s->reader().samples({.device = "d", .limit = 1'000'000}).size(), kRequests * kPerRequest);
        QCOMPARE(other.exec("COMMIT"), SQLITE_OK);
        // The compactor retries within a second or so; then the readings are in `samples`.
        const auto t0 = std::chrono::steady_clock::now();
        while (main_rows(opt.path) < std::int64_t(kRequests * kPerRequest) / 2 &&
               std::chrono::steady_clock::now() - t0 < std::chrono::seconds(10))
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        QVERIFY(main_rows(opt.path) > 0);
        const auto rows = s->reader().samples({.device = "d", .limit = 1'000'000});
        QCOMPARE(rows.size(), kRequests * kPerRequest);
        for (std::size_t i = 0; i < rows.size(); ++i)
            QCOMPARE(rows[i].ts, std::int64_t(i));
    }

    // Once everything is moved and removed the recent file is empty; ids must go on after the last one
    // moved, or new batches would carry ids that readers take for moved ones and skip.
    void batchIdsNeverGoBack()
    {
        QTemporaryDir dir;
        const auto opt = options_at(dir);
        {
            auto s = store::open_store(opt);
            write_fixture(*s);
        } // stop moves every batch and removes it from the recent file
        QCOMPARE(recent_rows(opt.path), std::int64_t(0));
        QVERIFY(moved_through(opt.path) > 0);
        {
            auto s = store::open_store(opt);
            Outcomes out;
            QVERIFY(s->writer().submit({sample("d3", 7, {{"a", 7}})}, out.callback(0)));
            QVERIFY(out.wait_for(1));
            QVERIFY(out.all_exactly_once(1, CommitStatus::committed));
            QCOMPARE(s->reader().samples({.device = "d3"}).size(), std::size_t(1));
            QCOMPARE(s->reader().devices().size(), std::size_t(3));
        }
        auto s = store::open_store(opt);
        QCOMPARE(s->reader().samples({.device = "d3"}).size(), std::size_t(1));
        QCOMPARE(s->reader().samples({.device = "d1", .limit = 100}).size(), std::size_t(20));
    }

    void quotaFullFailsWholeBatchesThenRecovers()
    {
        QTemporaryDir dir;
        auto opt = options_at(dir);
        opt.max_bytes = 256 * 1024;
        auto s = store::open_store(opt);
        // Another connection (no quota of its own) fills the file past the writer's quota; every page the
        // writer would add is then beyond it.
        Connection other(opt.path);
        QCOMPARE(other.exec("CREATE TABLE ballast(b BLOB); INSERT INTO ballast VALUES (zeroblob(400000))"),
                 SQLITE_OK);

        // Three requests that land in one batch: each is answered `full`, none is stored in part.
        WriterGate gate;
        QVERIFY(s->writer().submit({sample("gate", 1, {{"m", 1}})}, gate.blocker()));
        QVERIFY(gate.wait_entered());
        Outcomes out;
        for (std::size_t r = 0; r < 3; ++r)
            QVERIFY(s->writer().submit(many("full-" + std::to_string(r), 1000), out.callback(r)));
        gate.open();
        QVERIFY(out.wait_for(3));
        QVERIFY(out.all_exactly_once(3, CommitStatus::full));
        QVERIFY(s->writer().stats().failed_batches >= 1);
        for (int r = 0; r < 3; ++r)
            QVERIFY(s->reader().samples({.device = "full-" + std::to_string(r)}).empty());
        for (const auto& d : s->reader().devices())
            QVERIFY2(d.device == "gate", d.device.c_str());

        // Space comes back (the ballast goes to the free list): the writer reuses it with no restart.
        QCOMPARE(other.exec("DROP TABLE ballast"), SQLITE_OK);
        Outcomes again;
        QVERIFY(s->writer().submit(many("after", 1000), again.callback(0)));
        QVERIFY(again.wait_for(1));
        QVERIFY(again.all_exactly_once(1, CommitStatus::committed));
        QCOMPARE(s->reader().samples({.device = "after", .limit = 100'000}).size(), std::size_t(1000));
    }

    void quotaHoldsAgainstTheWriterAlone()
    {
        QTemporaryDir dir;
        auto opt = options_at(dir);
        opt.max_bytes = 128 * 1024;
        std::size_t committed = 0;
        {
            auto s = store::open_store(opt);
            // One request at a time until the quota refuses one; then it refuses every later one too.
            CommitStatus last = CommitStatus::committed;
            for (std::size_t r = 0; r < 200 && last == CommitStatus::committed; ++r) {
                Outcomes out;
                QVERIFY(s->writer().submit(many("d", 200, std::int64_t(r) * 200), out.callback(0)));
                QVERIFY(out.wait_for(1));
                QVERIFY(out.all_exactly_once(1, CommitStatus::committed) ||
                        out.all_exactly_once(1, CommitStatus::full));
                last = out.all_exactly_once(1, CommitStatus::committed) ? CommitStatus::committed
                                                                        : CommitStatus::full;
                committed += last == CommitStatus::committed ? 1 : 0;
            }
            QCOMPARE(last, CommitStatus::full);
            QVERIFY(committed > 0);
            QCOMPARE(s->reader().samples({.device = "d", .limit = 100'000}).size(), committed * 200);
        } // stop with the quota reached: the compaction fails and leaves the rows in `recent`
        QVERIFY2(std::filesystem::file_size(opt.path) <= opt.max_bytes,
                 qPrintable(QString::number(std::filesystem::file_size(opt.path))));

        // The same file under a larger quota takes more, and still has everything acknowledged before.
        opt.max_bytes = 0;
        auto s = store::open_store(opt);
        Outcomes out;
        QVERIFY(s->writer().submit(many("d", 200, 1'000'000), out.callback(0)));
        QVERIFY(out.wait_for(1));
        QVERIFY(out.all_exactly_once(1, CommitStatus::committed));
        QCOMPARE(s->reader().samples({.device = "d", .limit = 100'000}).size(), committed * 200 + 200);
    }

    void stopUnderAnotherLockIsBounded()
    {
        QTemporaryDir dir;
        auto opt = options_at(dir);
        opt.busy_timeout = std::chrono::milliseconds(200);
        constexpr std::size_t kRows = 5000;
        Connection other(opt.path);
        {
            auto s = store::open_store(opt);
            Outcomes out;
            QVERIFY(s->writer().submit(many("d", kRows), out.callback(0)));
            QVERIFY(out.wait_for(1));
            QVERIFY(out.all_exactly_once(1, CommitStatus::committed));
            // The rows wait in `recent`; stop moves them, but another process now holds the write lock.
            QCOMPARE(other.exec("BEGIN EXCLUSIVE"), SQLITE_OK);
            const auto t0 = std::chrono::steady_clock::now();
            s->writer().stop();
            const auto took = std::chrono::steady_clock::now() - t0;
            // The compaction gives up at its first busy timeout and the last checkpoint at its own: about
            // two timeouts, not one per slice and form (16).
            QVERIFY2(took < std::chrono::milliseconds(1500),
                     qPrintable(QString::number(
                         std::chrono::duration_cast<std::chrono::milliseconds>(took).count())));
        }
        QCOMPARE(other.exec("COMMIT"), SQLITE_OK);
        auto s = store::open_store(opt);
        QCOMPARE(s->reader().samples({.device = "d", .limit = 100'000}).size(), kRows);
    }

    // A reader takes the recent file's snapshot before the main file's. Here a whole compaction, and the
    // removal of what it moved from the recent file, run between the two (the store stops there: it moves
    // everything and removes it): the read still sees every reading exactly once. Taken the other way round,
    // the moved readings would be in neither snapshot.
    void readersSeeEveryReadingOnceAcrossACompaction_data()
    {
        QTest::addColumn<bool>("devices");
        QTest::addRow("samples") << false;
        QTest::addRow("devices") << true;
    }
    void readersSeeEveryReadingOnceAcrossACompaction()
    {
        QFETCH(bool, devices);
        QTemporaryDir dir;
        auto opt = options_at(dir);
        opt.busy_timeout = std::chrono::milliseconds(100); // the last checkpoint waits for this reader
        auto s = store::open_store(opt);
        write_fixture(*s);
        QCOMPARE(main_rows(opt.path), std::int64_t(0)); // all of it waits in the recent file
        static store::Store* stopping = nullptr;
        stopping = s.get();
        store::sqlite::g_between_snapshots.store(+[] {
            if (auto* st = std::exchange(stopping, nullptr))
                st->writer().stop();
        });
        std::vector<store::SampleRow> rows;
        std::vector<store::DeviceRow> listed;
        if (devices)
            listed = s->reader().devices();
        else
            rows = s->reader().samples({.device = "d1", .limit = 100});
        store::sqlite::g_between_snapshots.store(nullptr);
        QVERIFY2(stopping == nullptr, "the hook did not run");
        QCOMPARE(main_rows(opt.path), std::int64_t(30));
        QCOMPARE(recent_rows(opt.path), std::int64_t(0));
        if (devices) {
            QCOMPARE(listed.size(), std::size_t(2));
            QCOMPARE(listed[0].samples, std::int64_t(10));
            QCOMPARE(listed[1].samples, std::int64_t(10));
        } else {
            QCOMPARE(rows.size(), std::size_t(20));
            for (std::size_t i = 0; i < rows.size(); ++i)
                QCOMPARE(rows[i].ts, std::int64_t(100 + i / 2));
        }
    }

    void checkpointerCopiesWhileRunning()
    {
        QTemporaryDir dir;
        const auto opt = options_at(dir);
        auto s = store::open_store(opt);
        Outcomes out;
        for (std::size_t r = 0; r < 5; ++r)
            QVERIFY(s->writer().submit(many("d", 2000, std::int64_t(r) * 2000), out.callback(r)));
        QVERIFY(out.wait_for(5));
        QVERIFY(out.all_exactly_once(5, CommitStatus::committed));
        // Commits land in the recent file's WAL; only a checkpoint grows the file itself. Its schema alone
        // takes a few pages, 10,000 readings far more.
        const std::string recent = store::sqlite::recent_path(opt.path);
        const auto t0 = std::chrono::steady_clock::now();
        while (std::filesystem::file_size(recent) < 64 * 1024 &&
               std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5))
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        QVERIFY2(std::filesystem::file_size(recent) >= 64 * 1024,
                 qPrintable(QStringLiteral("recent file %1 bytes 5 s after the commits")
                                .arg(std::filesystem::file_size(recent))));
    }

    void walStaysBoundedUnderSustainedLoad()
    {
        QTemporaryDir dir;
        const auto opt = options_at(dir);
        auto s = store::open_store(opt);
        // The writer never idles: four requests always wait. Without a restarting checkpoint the WAL only
        // starts over when a checkpoint round happens to fall between two commits.
        constexpr std::size_t kRequests = 150;
        constexpr std::size_t kPerRequest = 2000;
        std::mutex m;
        std::condition_variable cv;
        std::size_t done = 0;
        std::uintmax_t largest_wal = 0;
        const std::string wal = opt.path + "-wal";
        const std::string recent_wal = store::sqlite::recent_path(opt.path) + "-wal";
        for (std::size_t r = 0; r < kRequests; ++r) {
            {
                std::unique_lock lock(m);
                QVERIFY(cv.wait_for(lock, std::chrono::seconds(20), [&] { return r < done + 4; }));
            }
            std::vector<telemetry::Sample> batch;
            for (std::size_t i = 0; i < kPerRequest; ++i) {
                const auto n = std::int64_t(r * kPerRequest + i);
                batch.push_back(sample("dev-" + std::to_string(n % 50), n, {{"a", double(n)}, {"b", 1.0}}));
            }
            QVERIFY(s->writer().submit(std::move(batch), [&](CommitStatus) {
                std::lock_guard lock(m);
                ++done;
                cv.notify_all();
            }));
            std::error_code ec;
            largest_wal = std::max(largest_wal, std::filesystem::file_size(wal, ec));
            largest_wal = std::max(largest_wal, std::filesystem::file_size(recent_wal, ec));
        }
        std::unique_lock lock(m);
        QVERIFY(cv.wait_for(lock, std::chrono::seconds(20), [&] { return done == kRequests; }));
        qInfo("largest WAL seen: %.1f MiB", double(largest_wal) / (1 << 20));
        // 32 MiB of frames before the WAL starts over, plus one batch and one compaction slice.
        QVERIFY2(largest_wal < 40u << 20, qPrintable(QString::number(largest_wal)));
    }

    void queryFilters_data()
    {
        QTest::addColumn<bool>("compacted");
        QTest::addColumn<QString>("device");
        QTest::addColumn<QString>("metric");
        QTest::addColumn<qint64>("from"); // -1: unset
        QTest::addColumn<qint64>("to");   // -1: unset
        QTest::addColumn<int>("limit");
        QTest::addColumn<QString>("expected"); // "ts:metric" in order

        for (const bool compacted : {false, true}) {
            const char* where = compacted ? "compacted" : "recent";
            auto row = [&](const char* name) -> QTestData& {
                return QTest::addRow("%s: %s", where, name) << compacted;
            };
            row("everything in ts then metric order")
                << QStringLiteral("d1") << QStringLiteral("") << qint64(-1) << qint64(-1) << 4
                << QStringLiteral("100:a 100:b 101:a 101:b");
            row("one metric") << QStringLiteral("d1") << QStringLiteral("b") << qint64(-1) << qint64(-1) << 3
                              << QStringLiteral("100:b 101:b 102:b");
            row("from is inclusive") << QStringLiteral("d1") << QStringLiteral("a") << qint64(107)
                                     << qint64(-1) << 10 << QStringLiteral("107:a 108:a 109:a");
            row("to is inclusive") << QStringLiteral("d1") << QStringLiteral("a") << qint64(-1) << qint64(101)
                                   << 10 << QStringLiteral("100:a 101:a");
            row("from and to") << QStringLiteral("d1") << QStringLiteral("") << qint64(104) << qint64(105)
                               << 10 << QStringLiteral("104:a 104:b 105:a 105:b");
            row("single instant") << QStringLiteral("d2") << QStringLiteral("a") << qint64(103) << qint64(103)
                                  << 10 << QStringLiteral("103:a");
            row("limit cuts the earliest") << QStringLiteral("d2") << QStringLiteral("") << qint64(-1)
                                           << qint64(-1) << 2 << QStringLiteral("100:a 101:a");
            row("limit zero") << QStringLiteral("d1") << QStringLiteral("") << qint64(-1) << qint64(-1) << 0
                              << QStringLiteral("");
            row("from after to") << QStringLiteral("d1") << QStringLiteral("") << qint64(105) << qint64(104)
                                 << 10 << QStringLiteral("");
            row("range outside the data") << QStringLiteral("d1") << QStringLiteral("") << qint64(200)
                                          << qint64(-1) << 10 << QStringLiteral("");
            row("metric of another device only") << QStringLiteral("d2") << QStringLiteral("b") << qint64(-1)
                                                 << qint64(-1) << 10 << QStringLiteral("");
            row("unknown device") << QStringLiteral("d9") << QStringLiteral("") << qint64(-1) << qint64(-1)
                                  << 10 << QStringLiteral("");
            row("unknown metric") << QStringLiteral("d1") << QStringLiteral("zz") << qint64(-1) << qint64(-1)
                                  << 10 << QStringLiteral("");
        }
    }

    void queryFilters()
    {
        QFETCH(bool, compacted);
        QFETCH(QString, device);
        QFETCH(QString, metric);
        QFETCH(qint64, from);
        QFETCH(qint64, to);
        QFETCH(int, limit);
        QFETCH(QString, expected);

        QTemporaryDir dir;
        const auto opt = options_at(dir);
        std::unique_ptr<Store> s = store::open_store(opt);
        write_fixture(*s);
        if (compacted) {
            s.reset(); // stop() moves `recent` into `samples`
            s = store::open_store(opt);
        }
        store::SampleQuery q;
        q.device = device.toStdString();
        q.metric = metric.toStdString();
        if (from >= 0)
            q.from = from;
        if (to >= 0)
            q.to = to;
        q.limit = std::size_t(limit);
        const auto rows = s->reader().samples(q);
        QStringList got;
        for (const auto& r : rows) {
            got << QStringLiteral("%1:%2").arg(r.ts).arg(QString::fromStdString(r.metric));
            const double want =
                r.metric == "b" ? -double(r.ts) : (q.device == "d2" ? 1000.0 + r.ts : double(r.ts));
            QCOMPARE(r.value, want);
        }
        QCOMPARE(got.join(QLatin1Char(' ')), expected);
    }

    void devicesAreOrderedByName()
    {
        QTemporaryDir dir;
        auto s = store::open_store(options_at(dir));
        Outcomes out;
        QVERIFY(s->writer().submit({sample("zeta", 3, {{"m", 1}}), sample("alpha", 9, {{"m", 1}}),
                                    sample("alpha", 2, {{"m", 1}}), sample("mid", 5, {{"m", 1}})},
                                   out.callback(0)));
        QVERIFY(out.wait_for(1));
        const auto d = s->reader().devices();
        QCOMPARE(d.size(), std::size_t(3));
        QCOMPARE(d[0].device, std::string("alpha"));
        QCOMPARE(d[0].first_seen, std::int64_t(2));
        QCOMPARE(d[0].last_seen, std::int64_t(9));
        QCOMPARE(d[0].samples, std::int64_t(2));
        QCOMPARE(d[1].device, std::string("mid"));
        QCOMPARE(d[2].device, std::string("zeta"));
    }

    void observerSeesCommittedSamples()
    {
        QTemporaryDir dir;
        auto s = store::open_store(options_at(dir));
        std::mutex m;
        std::vector<std::string> seen;
        s->writer().set_observer([&](std::span<const telemetry::Sample> samples) {
            std::lock_guard lock(m);
            for (const auto& x : samples)
                seen.push_back(x.device);
        });
        Outcomes out;
        QVERIFY(
            s->writer().submit({sample("a", 1, {{"m", 1}}), sample("b", 1, {{"m", 1}})}, out.callback(0)));
        QVERIFY(out.wait_for(1));
        s->writer().stop();
        std::lock_guard lock(m);
        QCOMPARE(seen, (std::vector<std::string>{"a", "b"}));
    }
};

QTEST_GUILESS_MAIN(TestStore)
#include "test_store.moc"
