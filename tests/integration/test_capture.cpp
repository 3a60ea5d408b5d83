// SPDX-License-Identifier: GPL-3.0-or-later
// Session captures end to end: real posts over loopback into an in-process gateway, exported to each format,
// read back (CaptureReader, a CSV and a JSON Lines parser) and compared with what the database holds, read
// straight through SQLite. Also: filters, cancel, an export while a store commits under load, older schemas,
// the persisted timeline and marks, and the export/sessions subcommands.
#include "core/capture_cli.hpp"
#include "core/gateway.hpp"
#include "core/metrics/derived.hpp"
#include "core/store/capture.hpp"
#include "core/store/sqlite/chunk.hpp"
#include "core/store/store.hpp"
#include "core/util/clock.hpp"
#include "core/util/iso_time.hpp"
#include "support/http_client.hpp"
#include "support/loopback_settings.hpp"
#include "support/sqlite_probe.hpp"

#include <QDir>
#include <QFile>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTest>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>
#include <tuple>

using namespace fleetscope;
using namespace fleetscope::testing;
namespace json = boost::json;
namespace fs = std::filesystem;
using store::ExportFormat;
using store::ExportStatus;

Q_DECLARE_METATYPE(store::ExportFormat)

namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr double kCommitMarginMs = 1000.0;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr double kCommitMarginMs = 1000.0;
#else
constexpr double kCommitMarginMs = 200.0;
#endif
#else
constexpr double kCommitMarginMs = 200.0;
#endif

constexpr int kDevices = 10;
constexpr int kRequests = 200;
constexpr int kSamplesPerRequest = 5;
constexpr std::int64_t kT0 = 1'732'630'000'000; // for stores filled directly, outside any session

/// One reading as stored or exported.
struct Reading {
    std::string device;
    std::int64_t ts;
    std::string metric;
    double value;
    auto key() const { return std::tie(device, metric, ts, value); }
    bool operator<(const Reading& o) const { return key() < o.key(); }
    bool operator==(const Reading& o) const { return key() == o.key(); }
};

std::string describe(const Reading& r)
{
    return r.device + "," + std::to_string(r.ts) + "," + r.metric + "," + std::to_string(r.value);
}

/// The first difference between two sorted reading lists, for a failure message.
std::string first_difference(const std::vector<Reading>& a, const std::vector<Reading>& b)
{
    for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i)
        if (!(a[i] == b[i]))
            return "at " + std::to_string(i) + ": " + describe(a[i]) + " vs " + describe(b[i]);
    return "sizes " + std::to_string(a.size()) + " vs " + std::to_string(b.size());
}

/// Every reading in a FleetScope database, straight through SQLite and the chunk codec (not the store's or
/// the export's code): its `chunks`, which hold everything once a store has stopped (it moves what waits in
/// its recent file). Throws when batches wait unmoved, rather than miss them.
std::vector<Reading> raw_readings(const std::string& path)
{
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK)
        throw std::runtime_error("cannot open " + path);
    sqlite3_stmt* st = nullptr;
    const std::string recent = path + "-recent";
    if (fs::exists(recent)) {
        const std::string attach = "ATTACH DATABASE '" + recent + "' AS r";
        sqlite3_exec(db, attach.c_str(), nullptr, nullptr, nullptr);
        if (sqlite3_prepare_v2(
                db, "SELECT count(*) FROM r.recent WHERE id > (SELECT moved_through FROM compaction)", -1,
                &st, nullptr) != SQLITE_OK ||
            sqlite3_step(st) != SQLITE_ROW || sqlite3_column_int64(st, 0) != 0) {
            sqlite3_finalize(st);
            sqlite3_close(db);
            throw std::runtime_error(path + ": batches wait unmoved in its recent file");
        }
        sqlite3_finalize(st);
    }
    const char* sql = "SELECT d.name, m.name, x.readings, x.data FROM chunks x"
                      " JOIN devices d ON d.id = x.device_id JOIN metrics m ON m.id = x.metric_id";
    if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) != SQLITE_OK) {
        const std::string why = sqlite3_errmsg(db);
        sqlite3_close(db);
        throw std::runtime_error("cannot read " + path + ": " + why);
    }
    std::vector<Reading> out;
    while (sqlite3_step(st) == SQLITE_ROW) {
        // The chunk codec alone decodes the readings: none of the store's reading code.
        store::sqlite::ChunkDecoder chunk(
            std::string_view(static_cast<const char*>(sqlite3_column_blob(st, 3)),
                             static_cast<std::size_t>(sqlite3_column_bytes(st, 3))),
            sqlite3_column_int64(st, 2), path);
        std::int64_t ts = 0;
        double value = 0;
        while (chunk.next(ts, value))
            out.push_back(Reading{reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), ts,
                                  reinterpret_cast<const char*>(sqlite3_column_text(st, 1)), value});
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    std::sort(out.begin(), out.end());
    return out;
}

bool exec_sql(const std::string& path, const char* sql)
{
    sqlite3* db = nullptr;
    sqlite3_open(path.c_str(), &db);
    const bool ok = sqlite3_exec(db, sql, nullptr, nullptr, nullptr) == SQLITE_OK;
    sqlite3_close(db);
    return ok;
}

double parse_double(std::string_view s)
{
    double v = 0;
    const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
    if (r.ec != std::errc() || r.ptr != s.data() + s.size())
        throw std::runtime_error("not a number: '" + std::string(s) + "'");
    return v;
}

std::vector<Reading> read_capture(const std::string& path)
{
    store::CaptureReader reader(path);
    std::vector<Reading> out;
    for (const auto& d : reader.devices()) {
        store::SampleQuery q;
        q.device = d.device;
        q.limit = 100'000'000;
        for (const auto& s : reader.samples(q))
            out.push_back(Reading{d.device, s.ts, s.metric, s.value});
    }
    std::sort(out.begin(), out.end());
    return out;
}

/// Splits one CSV record; fields with quotes are unquoted (RFC 4180).
std::vector<std::string> csv_fields(const std::string& line)
{
    std::vector<std::string> out(1);
    bool quoted = false;
    for (std::size_t i = 0; i < line.size(); ++i) {
        const char c = line[i];
        if (quoted) {
            if (c == '"' && i + 1 < line.size() && line[i + 1] == '"')
                out.back() += line[++i];
            else if (c == '"')
                quoted = false;
            else
                out.back() += c;
        } else if (c == '"') {
            quoted = true;
        } else if (c == ',') {
            out.emplace_back();
        } else {
            out.back() += c;
        }
    }
    return out;
}

std::vector<Reading> read_csv(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    std::string line;
    std::getline(in, line);
    if (line != "device,ts,iso_time,metric,value\r")
        throw std::runtime_error("unexpected CSV header: " + line);
    std::vector<Reading> out;
    while (std::getline(in, line)) {
        if (line.empty() || line.back() != '\r')
            throw std::runtime_error("CSV record without CRLF: " + line);
        line.pop_back();
        const auto f = csv_fields(line);
        if (f.size() != 5)
            throw std::runtime_error("CSV record without 5 fields: " + line);
        const std::int64_t ts = std::stoll(f[1]);
        if (f[2] != util::format_iso_time(ts))
            throw std::runtime_error("iso_time " + f[2] + " does not match ts " + f[1]);
        out.push_back(Reading{f[0], ts, f[3], parse_double(f[4])});
    }
    std::sort(out.begin(), out.end());
    return out;
}

std::vector<Reading> read_jsonl(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    std::string line;
    std::vector<Reading> out;
    while (std::getline(in, line)) {
        const json::value v = json::parse(line);
        const auto& o = v.as_object();
        if (o.size() != 4)
            throw std::runtime_error("JSON line with other than 4 members: " + line);
        out.push_back(Reading{std::string(o.at("device").as_string()), o.at("ts").as_int64(),
                              std::string(o.at("metric").as_string()), o.at("value").to_number<double>()});
    }
    std::sort(out.begin(), out.end());
    return out;
}

std::vector<Reading> read_export(ExportFormat f, const std::string& path)
{
    switch (f) {
    case ExportFormat::capture:
        return read_capture(path);
    case ExportFormat::csv:
        return read_csv(path);
    case ExportFormat::jsonl:
        return read_jsonl(path);
    }
    return {};
}

/// Files in `dir` whose name contains `part`.
int files_containing(const QString& dir, const std::string& part)
{
    int n = 0;
    for (const auto& e : fs::directory_iterator(dir.toStdString()))
        if (e.path().filename().string().find(part) != std::string::npos)
            ++n;
    return n;
}

/// Awkward doubles: exact decimal round trips, extremes, negatives.
double value_for(int request, int sample, int metric)
{
    static const double kOdd[] = {0.1, 21.5, -67, 1e22, 123456.789, 1e-300, 2.5e-5, -0.0, 3.0};
    if (metric == 2)
        return kOdd[(request + sample) % std::size(kOdd)];
    return metric == 0 ? 20.0 + request * 0.01 + sample : -60.0 - sample;
}

std::string format_double(double v)
{
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, r.ptr);
}

store::ExportQuery all()
{
    return {};
}

/// Fills a store directly with `devices` x `per_device` samples of `metrics` metrics each.
void fill_store(const std::string& path, int devices, int per_device, int metrics, std::int64_t t0 = kT0)
{
    store::Options o;
    o.path = path;
    const auto opened = store::open_store(o);
    store::Writer& s = opened->writer();
    std::atomic<int> pending{0};
    for (int i = 0; i < per_device; i += 100) {
        std::vector<telemetry::Sample> batch;
        for (int d = 0; d < devices; ++d) {
            for (int k = i; k < std::min(per_device, i + 100); ++k) {
                telemetry::Sample smp;
                smp.device = "dev-" + std::to_string(d);
                smp.ts_ms = t0 + k;
                for (int m = 0; m < metrics; ++m)
                    smp.metrics.push_back({"m" + std::to_string(m), d * 1000.0 + k + m * 0.25});
                batch.push_back(std::move(smp));
            }
        }
        pending.fetch_add(1);
        while (!s.submit(std::move(batch), [&pending](store::CommitStatus) { pending.fetch_sub(1); }))
            std::this_thread::sleep_for(milliseconds(1));
    }
    s.stop();
}

} // namespace

class TestCapture : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void isoTime_data();
    void isoTime();
    void roundTrip_data();
    void roundTrip();
    void numbersAreExact();
    void timelineAndMarksPersisted();
    void filters_data();
    void filters();
    void cancelLeavesNoFile_data();
    void cancelLeavesNoFile();
    void exportUnderIngestLoad();
    void schemaOneOpensUntouched();
    void formatOneFixtureOpens();
    void newerFilesRefused_data();
    void newerFilesRefused();
    void exportCommand_data();
    void exportCommand();
    void sessionsCommand();

private:
    QTemporaryDir dir_;
    std::string db_;
    std::int64_t session_ = 0;
    std::int64_t t0_ = 0; // the first sample time: the session's start, so that its span holds every sample
    std::vector<Reading> stored_;
    std::uint64_t posted_ = 0;
};

void TestCapture::initTestCase()
{
    QVERIFY(dir_.isValid());
    db_ = dir_.filePath(QStringLiteral("recorded.db")).toStdString();
    Settings s = loopback_settings(dir_, "recorded.db");
    s.sample_interval = milliseconds(20);
    s.timeline_interval = milliseconds(100);
    Gateway g(s);
    g.start();
    session_ = g.session_id();
    QVERIFY(session_ > 0);
    t0_ = util::now_ms();

    // Real posts over loopback: kRequests requests of kSamplesPerRequest samples, three metrics each.
    HttpClient c;
    QVERIFY(c.connect(g.port()));
    for (int r = 0; r < kRequests; ++r) {
        std::string body = "[";
        for (int i = 0; i < kSamplesPerRequest; ++i) {
            const int n = r * kSamplesPerRequest + i;
            body += (i ? "," : "");
            body += "{\"device\":\"pump-" + std::to_string(n % kDevices) +
                    "\",\"ts\":" + std::to_string(t0_ + n / kDevices) +
                    ",\"metrics\":{\"temp_c\":" + format_double(value_for(r, i, 0)) +
                    ",\"rssi\":" + format_double(value_for(r, i, 1)) +
                    ",\"odd\":" + format_double(value_for(r, i, 2)) + "}}";
        }
        body += "]";
        const auto res = c.request(post_telemetry(body));
        QVERIFY2(res && res->result_int() == 204, res ? res->body().c_str() : "no answer");
        posted_ += kSamplesPerRequest * 3;
    }
    // A device that sends the same (metric, ts) twice keeps both readings.
    for (int i = 0; i < 2; ++i) {
        const auto res = c.request(post_telemetry(sample_json("twice", t0_, 7.0 + i)));
        QVERIFY(res && res->result_int() == 204);
        ++posted_;
    }
    const auto now = util::now_ms();
    QCOMPARE(QString::fromStdString(g.add_mark("the interesting bit", now - 1000, now).error()), QString());
    QVERIFY(!g.add_mark("", 1, 2).ok());
    QVERIFY(!g.add_mark("backwards", 2, 1).ok());
    // Long enough for several timeline points.
    std::this_thread::sleep_for(milliseconds(450));
    g.stop();
    QVERIFY(!g.add_mark("after stop", 1, 2).ok());

    stored_ = raw_readings(db_);
    QCOMPARE(stored_.size(), std::size_t(posted_));
}

void TestCapture::isoTime_data()
{
    QTest::addColumn<qlonglong>("ms");
    QTest::addColumn<QString>("iso");
    QTest::addRow("epoch") << qlonglong(0) << "1970-01-01T00:00:00.000Z";
    QTest::addRow("milliseconds") << qlonglong(1'732'630'000'001) << "2024-11-26T14:06:40.001Z";
    QTest::addRow("leap day") << qlonglong(951'825'599'999) << "2000-02-29T11:59:59.999Z";
    QTest::addRow("before the epoch") << qlonglong(-1) << "1969-12-31T23:59:59.999Z";
}

// The CSV's iso_time column.
void TestCapture::isoTime()
{
    QFETCH(qlonglong, ms);
    QFETCH(QString, iso);
    QCOMPARE(QString::fromStdString(util::format_iso_time(ms)), iso);
}

void TestCapture::roundTrip_data()
{
    QTest::addColumn<ExportFormat>("format");
    QTest::addRow("capture") << ExportFormat::capture;
    QTest::addRow("csv") << ExportFormat::csv;
    QTest::addRow("jsonl") << ExportFormat::jsonl;
}

// Record -> export -> read back: the same readings, every value bit for bit.
void TestCapture::roundTrip()
{
    QFETCH(ExportFormat, format);
    const std::string out =
        dir_.filePath(QStringLiteral("all")).toStdString() + std::string(store::file_extension(format));
    std::uint64_t calls = 0;
    std::uint64_t last_done = 0;
    std::uint64_t last_total = 0;
    const auto r = store::export_data(db_, all(), format, out, [&](std::uint64_t done, std::uint64_t total) {
        ++calls;
        last_done = done;
        last_total = total;
        return true;
    });
    QVERIFY2(r.ok(), r.error.c_str());
    QVERIFY(r.warnings.empty());
    QCOMPARE(r.samples, posted_);
    QCOMPARE(r.devices, std::uint64_t(kDevices + 1));
    QVERIFY(calls >= 1);
    QCOMPARE(last_done, posted_);
    QCOMPARE(last_total, posted_);
    const auto got = read_export(format, out);
    QVERIFY2(got == stored_, first_difference(got, stored_).c_str());
    QCOMPARE(files_containing(dir_.path(), ".part-"), 0);

    if (format == ExportFormat::capture) {
        const store::CaptureReader reader(out);
        const auto& info = reader.info();
        QCOMPARE(info.capture_format, store::kCaptureFormatVersion);
        QCOMPARE(info.schema_version, store::kSchemaVersion);
        QCOMPARE(info.app_version, std::string(FLEETSCOPE_VERSION));
        QCOMPARE(info.samples, posted_);
        QCOMPARE(info.devices, std::uint64_t(kDevices + 1));
        QCOMPARE(info.from_ts.value_or(0), t0_);
        QCOMPARE(info.to_ts.value_or(0), t0_ + (kRequests * kSamplesPerRequest - 1) / kDevices);
        QVERIFY(info.exported_at.has_value());
        QCOMPARE(info.sessions.size(), std::size_t(1));
        QCOMPARE(info.sessions[0].id, session_);
        QCOMPARE(info.sessions[0].end_reason, std::string("stop"));
        // One file: no WAL beside it, rollback journal mode, and the device rows describe the selection.
        QVERIFY(!fs::exists(out + "-wal"));
        QCOMPARE(sqlite_scalar(out, "SELECT samples FROM devices WHERE name = 'pump-3'"),
                 std::int64_t(kRequests * kSamplesPerRequest / kDevices));
        QCOMPARE(sqlite_scalar(out, "SELECT samples FROM devices WHERE name = 'twice'"), std::int64_t(2));
        const char* rows =
            "SELECT sum(length(name) * 7 + first_seen % 1000003 + last_seen % 1000033 + samples)"
            " FROM devices";
        QCOMPARE(sqlite_scalar(out, rows), sqlite_scalar(db_, rows));
        // The capture holds the session's timeline and marks as the database does.
        QCOMPARE(sqlite_scalar(out, "SELECT count(*) FROM timeline"),
                 sqlite_scalar(db_, "SELECT count(*) FROM timeline"));
        QCOMPARE(reader.marks().size(), std::size_t(1));
    }
}

// Doubles come out as the shortest text that reads back exactly, with '.' and no 2.15E1 forms.
void TestCapture::numbersAreExact()
{
    const std::string out = dir_.filePath(QStringLiteral("numbers.csv")).toStdString();
    store::ExportQuery q;
    q.devices = {"pump-1"};
    q.metrics = {"temp_c", "odd"};
    const auto r = store::export_data(db_, q, ExportFormat::csv, out);
    QVERIFY2(r.ok(), r.error.c_str());
    std::ifstream in(out);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::string first =
        "pump-1," + std::to_string(t0_) + "," + util::format_iso_time(t0_) + ",temp_c,21\r\n";
    QVERIFY2(text.find(first) != std::string::npos, first.c_str());
    QVERIFY(text.find(",odd,0.1\r\n") != std::string::npos);
    QVERIFY(text.find(",odd,1e+22\r\n") != std::string::npos);
    QVERIFY(text.find(",odd,123456.789\r\n") != std::string::npos);
    QVERIFY(text.find("E") == std::string::npos);
}

// The gateway persisted its metric timeline with the session, and the reader lists the series.
void TestCapture::timelineAndMarksPersisted()
{
    const store::CaptureReader reader(db_);
    const auto series = reader.timeline_series();
    for (const char* name : {"connections", "requests_rate", "samples_rate", "commit_p99_ms", "store_queue",
                             "ready_depth.0", "ready_depth.1", "idle_pct.1", "rss_bytes"})
        QVERIFY2(std::find(series.begin(), series.end(), name) != series.end(), name);
    // Every stored name is one of the documented series (per-worker ones with their worker suffix).
    for (const auto& s : series) {
        const std::string base = s.substr(0, s.find('.'));
        const auto known = metrics::derived_from(base);
        QVERIFY2(known && metrics::info(*known).persisted, s.c_str());
    }
    const auto points = reader.timeline(0, std::numeric_limits<std::int64_t>::max(), "samples_rate");
    QVERIFY2(points.size() >= 2, "expected a point every 100 ms of a run of more than 450 ms");
    QVERIFY(std::is_sorted(points.begin(), points.end(), [](auto& a, auto& b) { return a.ts < b.ts; }));
    const auto marks = reader.marks();
    QCOMPARE(marks.size(), std::size_t(1));
    QCOMPARE(marks[0].label, std::string("the interesting bit"));
    QCOMPARE(marks[0].session_id, session_);
    QCOMPARE(marks[0].to_ts - marks[0].from_ts, std::int64_t(1000));
}

void TestCapture::filters_data()
{
    QTest::addColumn<QStringList>("devices");
    QTest::addColumn<QStringList>("metrics");
    QTest::addColumn<qlonglong>("from");
    QTest::addColumn<qlonglong>("to");
    QTest::addColumn<bool>("session");
    QTest::addColumn<int>("warnings");
    const qlonglong none = -1;
    QTest::addRow("one device") << QStringList{"pump-3"} << QStringList{} << none << none << false << 0;
    QTest::addRow("star") << QStringList{"pump-*"} << QStringList{} << none << none << false << 0;
    QTest::addRow("set") << QStringList{"pump-[0-3]"} << QStringList{} << none << none << false << 0;
    QTest::addRow("negated set") << QStringList{"[!p]*"} << QStringList{} << none << none << false << 0;
    QTest::addRow("question mark") << QStringList{"pump-?"} << QStringList{} << none << none << false << 0;
    QTest::addRow("two globs") << QStringList{"*-1", "tw*"} << QStringList{} << none << none << false << 0;
    QTest::addRow("glob matching nothing")
        << QStringList{"valve-*"} << QStringList{} << none << none << false << 1;
    QTest::addRow("one metric") << QStringList{} << QStringList{"rssi"} << none << none << false << 0;
    QTest::addRow("unknown metric") << QStringList{} << QStringList{"rssi", "volts"} << none << none << false
                                    << 1;
    QTest::addRow("range") << QStringList{} << QStringList{} << qlonglong(10) << qlonglong(19) << false << 0;
    QTest::addRow("open-ended range")
        << QStringList{} << QStringList{} << qlonglong(90) << none << false << 0;
    QTest::addRow("everything combined")
        << QStringList{"pump-[2-4]"} << QStringList{"odd"} << qlonglong(1) << qlonglong(50) << false << 0;
    QTest::addRow("session") << QStringList{} << QStringList{} << none << none << true << 0;
}

// Each filter selects exactly the readings it names, in every format (checked here on JSON Lines).
void TestCapture::filters()
{
    QFETCH(QStringList, devices);
    QFETCH(QStringList, metrics);
    QFETCH(qlonglong, from);
    QFETCH(qlonglong, to);
    QFETCH(bool, session);
    QFETCH(int, warnings);
    store::ExportQuery q;
    for (const auto& d : devices)
        q.devices.push_back(d.toStdString());
    for (const auto& m : metrics)
        q.metrics.push_back(m.toStdString());
    // Times are offsets from the first sample.
    if (from >= 0)
        q.from = t0_ + from;
    if (to >= 0)
        q.to = t0_ + to;
    if (session)
        q.session = session_;

    // The expected selection, by a plain filter over the stored readings.
    auto glob = [](const std::string& pattern, const std::string& name) {
        QRegularExpression re(
            QRegularExpression::wildcardToRegularExpression(QString::fromStdString(pattern)));
        return re.match(QString::fromStdString(name)).hasMatch();
    };
    std::vector<Reading> expected;
    for (const Reading& r : stored_) {
        const bool device_ok =
            q.devices.empty() ||
            std::any_of(q.devices.begin(), q.devices.end(), [&](const auto& g) { return glob(g, r.device); });
        const bool metric_ok =
            q.metrics.empty() || std::find(q.metrics.begin(), q.metrics.end(), r.metric) != q.metrics.end();
        const bool time_ok = (!q.from || r.ts >= *q.from) && (!q.to || r.ts <= *q.to);
        if (device_ok && metric_ok && time_ok)
            expected.push_back(r);
    }
    const std::string out = dir_.filePath(QStringLiteral("filtered.jsonl")).toStdString();
    const auto r = store::export_data(db_, q, ExportFormat::jsonl, out);
    QVERIFY2(r.ok(), r.error.c_str());
    QCOMPARE(int(r.warnings.size()), warnings);
    // The capture of the same selection describes its devices by what it holds of them.
    const std::string capture = dir_.filePath(QStringLiteral("filtered.fleetscope")).toStdString();
    QVERIFY(store::export_data(db_, q, ExportFormat::capture, capture).ok());
    std::set<std::int64_t> times;
    for (const Reading& e : expected)
        if (e.device == "pump-3")
            times.insert(e.ts);
    QCOMPARE(sqlite_scalar(capture, "SELECT coalesce(max(samples), 0) FROM devices WHERE name = 'pump-3'"),
             std::int64_t(times.size()));
    QCOMPARE(r.samples, std::uint64_t(expected.size()));
    const auto got = read_jsonl(out);
    QVERIFY2(got == expected, first_difference(got, expected).c_str());
    if (session) {
        // The session's readings are those within its span: everything posted here.
        QCOMPARE(got.size(), stored_.size());
    }
}

void TestCapture::cancelLeavesNoFile_data()
{
    QTest::addColumn<ExportFormat>("format");
    QTest::addRow("capture") << ExportFormat::capture;
    QTest::addRow("csv") << ExportFormat::csv;
    QTest::addRow("jsonl") << ExportFormat::jsonl;
}

// Cancelled mid-way from the progress callback: no output and no temporary file, and a file already at the
// output path is left as it was.
void TestCapture::cancelLeavesNoFile()
{
    QFETCH(ExportFormat, format);
    QTemporaryDir dir;
    const std::string db = dir.filePath(QStringLiteral("big.db")).toStdString();
    fill_store(db, 20, 2'000, 2); // 80,000 readings: several progress calls
    const std::string out = dir.filePath(QStringLiteral("out")).toStdString();
    const std::string fresh = out + "-fresh";
    int calls = 0;
    std::uint64_t at = 0;
    std::uint64_t of = 0;
    // The first call (done == 0) goes on; the second, mid-way, cancels.
    auto r = store::export_data(db, all(), format, fresh, [&](std::uint64_t done, std::uint64_t total) {
        at = done;
        of = total;
        return ++calls < 2;
    });
    QCOMPARE(r.status, ExportStatus::cancelled);
    QCOMPARE(calls, 2);
    QVERIFY(at > 0 && at < of);
    QCOMPARE(of, std::uint64_t(80'000));
    QVERIFY(!fs::exists(fresh));
    {
        std::ofstream existing(out);
        existing << "keep me";
    }
    calls = 0;
    r = store::export_data(db, all(), format, out, [&](std::uint64_t, std::uint64_t) { return ++calls < 3; });
    QCOMPARE(r.status, ExportStatus::cancelled);
    std::ifstream in(out);
    std::string content;
    std::getline(in, content);
    QCOMPARE(content, std::string("keep me"));
    QCOMPARE(files_containing(dir.path(), "out"), 1);
    QCOMPARE(files_containing(dir.path(), ".part-"), 0);

    // An error is as clean: an output folder that does not exist.
    r = store::export_data(db, all(), format, dir.filePath(QStringLiteral("no/such/dir/x")).toStdString());
    QCOMPARE(r.status, ExportStatus::failed);
    QVERIFY2(r.error.find("no/such/dir") != std::string::npos, r.error.c_str());
}

// An export while the store commits at a steady rate: every reading committed before the export began is
// written exactly once (compactions move rows between tables meanwhile), and commits are not held up.
void TestCapture::exportUnderIngestLoad()
{
    QTemporaryDir dir;
    const std::string db = dir.filePath(QStringLiteral("load.db")).toStdString();
    fill_store(db, 100, 1'000, 2); // 200,000 readings, so that the export takes a while
    store::Options o;
    o.path = db;
    const auto opened = store::open_store(o);
    store::Writer& s = opened->writer();

    // The ingest: one request of 20 samples x 2 metrics every ms from 20 devices, each sample's ts unique.
    std::atomic<bool> stop{false};
    std::atomic<bool> export_started{false};
    std::atomic<std::uint64_t> committed_before{0};
    std::atomic<std::uint64_t> committed_total{0};
    std::atomic<std::uint64_t> failed{0};
    std::mutex acked_mutex;
    std::vector<std::int64_t> acked_before; // ts of requests committed before the export began
    std::int64_t next_ts = kT0 + 10'000'000;
    std::thread ingest([&] {
        while (!stop.load()) {
            std::vector<telemetry::Sample> req;
            const std::int64_t ts = next_ts++;
            for (int d = 0; d < 20; ++d)
                req.push_back(
                    telemetry::Sample{"live-" + std::to_string(d), ts, {{"a", double(ts)}, {"b", -1.0}}});
            s.submit(std::move(req), [&, ts](store::CommitStatus st) {
                if (st != store::CommitStatus::committed) {
                    failed.fetch_add(1);
                    return;
                }
                committed_total.fetch_add(1);
                if (!export_started.load()) {
                    std::lock_guard lock(acked_mutex);
                    acked_before.push_back(ts);
                    committed_before.fetch_add(1);
                }
            });
            std::this_thread::sleep_for(milliseconds(1));
        }
    });

    auto p99_over = [&](auto&& phase) {
        const auto before = s.stats();
        phase();
        const auto after = s.stats();
        const auto d = metrics::diff(after.commit_latency, before.commit_latency);
        return std::tuple{metrics::percentile(d, 0.99), metrics::percentile(d, 0.50),
                          after.batches - before.batches};
    };
    const auto [base_p99, base_p50, base_commits] =
        p99_over([] { std::this_thread::sleep_for(milliseconds(1'000)); });

    const std::string out = dir.filePath(QStringLiteral("load.fleetscope")).toStdString();
    store::ExportResult r;
    const auto [exp_p99, exp_p50, exp_commits] = p99_over([&] {
        export_started.store(true);
        r = store::export_data(db, all(), ExportFormat::capture, out);
    });
    stop.store(true);
    ingest.join();
    s.stop();
    QVERIFY2(r.ok(), r.error.c_str());
    qInfo("export of %llu samples under load: %.2f s; commits: baseline p50 %.2f ms p99 %.2f ms (%llu "
          "commits in "
          "1 s), during the export p50 %.2f ms p99 %.2f ms (%llu commits)",
          static_cast<unsigned long long>(r.samples), r.seconds, base_p50, base_p99,
          static_cast<unsigned long long>(base_commits), exp_p50, exp_p99,
          static_cast<unsigned long long>(exp_commits));
    QCOMPARE(failed.load(), std::uint64_t(0));
    QVERIFY(committed_before.load() > 100);
    QVERIFY2(exp_commits > 0, "no commit during the export");
    // Generous on a shared 2-core machine, where the export's CPU time alone delays the writer's time slices;
    // an export that held a lock would instead hold commits for a whole chunk or the 5 s busy timeout. Under
    // AddressSanitizer (dev-asan, Debug) the export costs about three times the CPU, so the margin is 1 s
    // there: still far below what a held lock would show.
    QVERIFY2(exp_p99 < base_p99 + kCommitMarginMs,
             qPrintable(QStringLiteral("commit p99 during the export exceeds the baseline by %1 ms or more")
                            .arg(kCommitMarginMs)));

    // Exactly once: every preloaded reading, every live reading committed before the export, no duplicate.
    const store::CaptureReader reader(out);
    QCOMPARE(reader.info().samples, r.samples);
    QVERIFY(r.samples >= 200'000 + committed_before.load() * 40);
    std::map<std::string, std::vector<std::int64_t>> live;
    for (int d = 0; d < 20; ++d) {
        store::SampleQuery q;
        q.device = "live-" + std::to_string(d);
        q.metric = "a";
        q.limit = 10'000'000;
        auto& ts = live[q.device];
        for (const auto& row : reader.samples(q))
            ts.push_back(row.ts);
        QVERIFY2(std::adjacent_find(ts.begin(), ts.end()) == ts.end(), "a live reading was written twice");
        for (const std::int64_t t : acked_before)
            QVERIFY2(std::binary_search(ts.begin(), ts.end(), t),
                     "a reading committed before the export is missing");
    }
    store::SampleQuery q;
    q.device = "dev-7";
    q.limit = 10'000'000;
    QCOMPARE(reader.samples(q).size(), std::size_t(2'000));
}

// A file of schema version 1 opens through a migrated temporary copy; the file itself is not touched.
void TestCapture::schemaOneOpensUntouched()
{
    QTemporaryDir dir;
    const std::string path = dir.filePath(QStringLiteral("old.db")).toStdString();
    QVERIFY(exec_sql(path, R"sql(
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
        PRAGMA user_version = 1;)sql"));
    const auto bytes = [&] {
        std::ifstream in(path, std::ios::binary);
        return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    };
    const std::string before = bytes();
    const auto temp_files = [] { return files_containing(QDir::tempPath(), "fleetscope-capture-"); };
    const int temps = temp_files();
    {
        const store::CaptureReader reader(path);
        QCOMPARE(reader.info().schema_version, 1);
        QCOMPARE(reader.info().capture_format, 0);
        QCOMPARE(reader.info().samples, std::uint64_t(2));
        QVERIFY(reader.sessions().empty());
        QVERIFY(reader.timeline_series().empty());
        const auto rows = reader.samples({.device = "old-1"});
        QCOMPARE(rows.size(), std::size_t(2));
        QCOMPARE(rows[0].value, 20.5);
        QCOMPARE(rows[1].value, 21.5);
        QCOMPARE(temp_files(), temps + 1);
    }
    QCOMPARE(temp_files(), temps);
    QVERIFY(bytes() == before);
    QCOMPARE(sqlite_scalar(path, "PRAGMA user_version"), std::int64_t(1));

    // It also exports, and its capture opens as one of this build.
    const std::string out = dir.filePath(QStringLiteral("old.fleetscope")).toStdString();
    const auto r = store::export_data(path, all(), ExportFormat::capture, out);
    QVERIFY2(r.ok(), r.error.c_str());
    QCOMPARE(r.samples, std::uint64_t(2));
    const store::CaptureReader reader(out);
    QCOMPARE(reader.info().capture_format, store::kCaptureFormatVersion);
    QCOMPARE(reader.info().schema_version, store::kSchemaVersion);
    QCOMPARE(reader.samples({.device = "old-1"}).size(), std::size_t(2));
    QVERIFY(bytes() == before);
}

// A capture written by an earlier build (kept as SQL text in tests/integration/data) opens in this one, and
// can be exported again.
void TestCapture::formatOneFixtureOpens()
{
    const QString fixture = QFINDTESTDATA("data/capture-format1.sql");
    QVERIFY(!fixture.isEmpty());
    QFile f(fixture);
    QVERIFY(f.open(QIODevice::ReadOnly));
    const QByteArray sql = f.readAll();
    QTemporaryDir dir;
    const std::string path = dir.filePath(QStringLiteral("old.fleetscope")).toStdString();
    QVERIFY(exec_sql(path, sql.constData()));

    const store::CaptureReader reader(path);
    const auto& info = reader.info();
    QCOMPARE(info.capture_format, 1);
    QCOMPARE(info.schema_version, 2);
    QCOMPARE(info.app_version, std::string("0.1.0"));
    QCOMPARE(info.devices, std::uint64_t(2));
    QCOMPARE(info.samples, std::uint64_t(12));
    QCOMPARE(info.sessions.size(), std::size_t(1));
    QCOMPARE(info.sessions[0].end_reason, std::string("stop"));
    const auto rows = reader.samples({.device = "pump-0", .metric = "temp_c"});
    QCOMPARE(rows.size(), std::size_t(3));
    QCOMPARE(rows[0].value, 21.2);
    QCOMPARE(rows[2].value, 21.6);
    QCOMPARE(reader.timeline_series(),
             (std::vector<std::string>{"connections", "ready_depth.0", "samples_rate"}));
    QCOMPARE(reader.timeline(0, std::numeric_limits<std::int64_t>::max(), "connections").size(),
             std::size_t(4));
    QCOMPARE(reader.marks().size(), std::size_t(1));
    QCOMPARE(reader.marks()[0].label, std::string("warm-up"));

    const std::string again = dir.filePath(QStringLiteral("again.fleetscope")).toStdString();
    const auto r = store::export_data(path, {.session = info.sessions[0].id}, ExportFormat::capture, again);
    QVERIFY2(r.ok(), r.error.c_str());
    QCOMPARE(r.samples, std::uint64_t(12));
    const store::CaptureReader second(again);
    QCOMPARE(second.marks().size(), std::size_t(1));
    QCOMPARE(second.timeline_series().size(), std::size_t(3));
}

void TestCapture::newerFilesRefused_data()
{
    QTest::addColumn<QString>("sql");
    QTest::addColumn<QString>("expected");
    QTest::addRow("newer capture format") << "UPDATE meta SET value = '99' WHERE key = 'capture_format'"
                                          << "format version 99, newer";
    QTest::addRow("newer schema") << "PRAGMA user_version = 99"
                                  << "schema version 99, newer";
    QTest::addRow("not a FleetScope database") << "DROP TABLE chunks; PRAGMA user_version = 0"
                                               << "not a FleetScope";
}

// A file from a newer FleetScope, or no FleetScope file at all, is refused with a message naming it.
void TestCapture::newerFilesRefused()
{
    QFETCH(QString, sql);
    QFETCH(QString, expected);
    QTemporaryDir dir;
    const std::string path = dir.filePath(QStringLiteral("x.fleetscope")).toStdString();
    const auto r = store::export_data(db_, {.devices = {"pump-1"}}, ExportFormat::capture, path);
    QVERIFY2(r.ok(), r.error.c_str());
    QVERIFY(exec_sql(path, sql.toStdString().c_str()));
    try {
        store::CaptureReader reader(path);
        QFAIL("the reader opened the file");
    } catch (const store::StoreError& e) {
        const QString msg = QString::fromUtf8(e.what());
        QVERIFY2(msg.contains(expected) && msg.contains(QString::fromStdString(path)), e.what());
    }
    try {
        store::CaptureReader reader(dir.filePath(QStringLiteral("missing")).toStdString());
        QFAIL("the reader opened a missing file");
    } catch (const store::StoreError& e) {
        QVERIFY2(QString::fromUtf8(e.what()).contains(QStringLiteral("no such file")), e.what());
    }
}

void TestCapture::exportCommand_data()
{
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<int>("code");
    QTest::addColumn<QString>("message");
    QTest::addRow("csv by extension") << QStringList{"--db", "DB", "-o", "OUT.csv", "--device", "pump-1"} << 0
                                      << "wrote 300 samples of 1 devices";
    QTest::addRow("session") << QStringList{"--db",     "DB",    "--session", "SESSION",
                                            "--format", "jsonl", "-o",        "OUT"}
                             << 0 << "wrote 3002 samples";
    QTest::addRow("no output") << QStringList{"--db", "DB"} << 2 << "the option '--output' is required";
    QTest::addRow("store as db") << QStringList{"--store", "DB", "-o", "OUT.csv", "--device", "pump-1"} << 0
                                 << "wrote 300 samples of 1 devices";
    QTest::addRow("neither db nor store")
        << QStringList{"-o", "OUT"} << 2 << "give one of --db FILE and --store";
    QTest::addRow("bad format") << QStringList{"--db", "DB", "--format", "xml", "-o", "OUT"} << 2
                                << "expected capture, csv or jsonl, got 'xml'";
    QTest::addRow("session and range")
        << QStringList{"--db", "DB", "--session", "1", "--from", "5", "-o", "OUT"} << 2 << "not both";
    QTest::addRow("unknown session") << QStringList{"--db", "DB", "--session", "999", "-o", "OUT"} << 1
                                     << "session 999 is not in";
    QTest::addRow("missing database") << QStringList{"--db", "MISSING", "-o", "OUT"} << 1 << "no such file";
    QTest::addRow("from after to") << QStringList{"--db", "DB", "--from", "9", "--to", "1", "-o", "OUT"} << 1
                                   << "from (9) is after to (1)";
    QTest::addRow("warning") << QStringList{"--db", "DB", "--metric", "volts", "-o", "OUT"} << 0
                             << "warning: metric 'volts' is not in";
}

void TestCapture::exportCommand()
{
    QFETCH(QStringList, args);
    QFETCH(int, code);
    QFETCH(QString, message);
    QTemporaryDir dir;
    std::vector<std::string> argv{"export"};
    for (QString a : args) {
        a.replace(QStringLiteral("DB"), QString::fromStdString(db_));
        a.replace(QStringLiteral("MISSING"), dir.filePath(QStringLiteral("missing.db")));
        a.replace(QStringLiteral("OUT"), dir.filePath(QStringLiteral("out")));
        a.replace(QStringLiteral("SESSION"), QString::number(session_));
        argv.push_back(a.toStdString());
    }
    std::vector<const char*> raw;
    for (const auto& a : argv)
        raw.push_back(a.c_str());
    std::ostringstream out;
    std::ostringstream err;
    const int got = run_export_command(int(raw.size()), raw.data(), out, err);
    QVERIFY2(err.str().find(message.toStdString()) != std::string::npos, err.str().c_str());
    QCOMPARE(got, code);
    // Only a success leaves a file.
    QCOMPARE(files_containing(dir.path(), "out") > 0, code == 0);
}

void TestCapture::sessionsCommand()
{
    const char* argv[] = {"sessions", "--db", db_.c_str()};
    std::ostringstream out;
    std::ostringstream err;
    QCOMPARE(run_sessions_command(3, argv, out, err), 0);
    const std::string text = out.str();
    QVERIFY2(text.find("3002 samples") != std::string::npos, text.c_str());
    QVERIFY2(text.find("stop") != std::string::npos, text.c_str());
    QVERIFY2(text.find("the interesting bit") != std::string::npos, text.c_str());
}

QTEST_GUILESS_MAIN(TestCapture)
#include "test_capture.moc"
