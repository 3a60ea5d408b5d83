// SPDX-License-Identifier: GPL-3.0-or-later
// The one settings struct: validation, the generated CLI, and the README table checked against it.
#include "core/cli.hpp"
#include "core/settings.hpp"

#include <QtTest>
#include <boost/program_options.hpp>

#include <fstream>
#include <set>
#include <sstream>

using namespace fleetscope;
namespace po = boost::program_options;

class TestSettings : public QObject {
    Q_OBJECT
private slots:
    void validate_data();
    void validate();
    void everySettingIsAFlag();
    void flagsParseIntoTheStruct();
    void badFlagValueIsAnError();
    void readmeDocumentsEverySetting();
    void storeTargetFromStoreAndDb_data();
    void storeTargetFromStoreAndDb();
    void defaultsAreValid();
};

void TestSettings::validate_data()
{
    QTest::addColumn<QString>("flag");
    QTest::addColumn<QString>("value");
    QTest::addColumn<QString>("expected"); // empty: valid; else a fragment of the error

    QTest::addRow("listen ok") << "listen"
                               << "127.0.0.1:0"
                               << "";
    QTest::addRow("listen v6") << "listen"
                               << "[::1]:8080"
                               << "";
    QTest::addRow("listen no port") << "listen"
                                    << "127.0.0.1"
                                    << "expected HOST:PORT";
    QTest::addRow("listen empty port") << "listen"
                                       << "127.0.0.1:"
                                       << "expected HOST:PORT";
    QTest::addRow("listen port text") << "listen"
                                      << "host:http"
                                      << "port must be a number";
    QTest::addRow("listen port big") << "listen"
                                     << "host:70000"
                                     << "0 to 65535";
    QTest::addRow("backlog 0") << "backlog"
                               << "0"
                               << "backlog";
    QTest::addRow("stack small") << "fiber-stack-bytes"
                                 << "4096"
                                 << "fiber-stack-bytes";
    QTest::addRow("header small") << "max-header-bytes"
                                  << "100"
                                  << "max-header-bytes";
    QTest::addRow("depth 2") << "max-json-depth"
                             << "2"
                             << "max-json-depth";
    QTest::addRow("timeout 0") << "header-timeout"
                               << "0"
                               << "header-timeout";
    QTest::addRow("queue below request") << "store-queue"
                                         << "10"
                                         << "store-queue";
    QTest::addRow("retry 0") << "retry-after"
                             << "0"
                             << "retry-after";
    QTest::addRow("sample 1ms") << "sample-interval"
                                << "1"
                                << "sample-interval";
    QTest::addRow("workers ok") << "workers"
                                << "4"
                                << "";
    QTest::addRow("store sqlite") << "store"
                                  << "sqlite:/tmp/f.db"
                                  << "";
    QTest::addRow("store sqlite no path") << "store"
                                          << "sqlite:"
                                          << "sqlite: needs a file path";
    QTest::addRow("store postgresql uri") << "store"
                                          << "postgresql://fleet@db1:5433/fleetscope?sslmode=require"
                                          << "";
    QTest::addRow("store postgres uri") << "store"
                                        << "postgres://db1/fleetscope"
                                        << "";
    QTest::addRow("store conninfo") << "store"
                                    << "postgresql:host=db1 dbname=fleetscope"
                                    << "";
    QTest::addRow("store conninfo no pairs") << "store"
                                             << "postgresql:db1"
                                             << "KEY=VALUE pairs";
    QTest::addRow("store unknown scheme") << "store"
                                          << "mysql://db1/x"
                                          << "expected sqlite:PATH, postgresql://";
    QTest::addRow("gateway name ok") << "gateway-name"
                                     << "rack-7.site_b:2"
                                     << "";
    QTest::addRow("gateway name space") << "gateway-name"
                                        << "rack 7"
                                        << "gateway-name: expected up to 64 characters";
    QTest::addRow("retention ok") << "retention"
                                  << "30"
                                  << "";
    QTest::addRow("connect timeout 0") << "store-connect-timeout"
                                       << "0"
                                       << "store-connect-timeout";
}

void TestSettings::validate()
{
    QFETCH(QString, flag);
    QFETCH(QString, value);
    QFETCH(QString, expected);
    Settings s;
    po::options_description desc;
    add_setting_options(desc, s);
    const std::string arg = "--" + flag.toStdString() + "=" + value.toStdString();
    const char* argv[] = {"x", arg.c_str()};
    po::variables_map vm;
    po::store(po::parse_command_line(2, argv, desc), vm);
    po::notify(vm);
    const std::string problem = fleetscope::validate(s);
    if (expected.isEmpty())
        QVERIFY2(problem.empty(), problem.c_str());
    else
        QVERIFY2(problem.find(expected.toStdString()) != std::string::npos, problem.c_str());
}

void TestSettings::everySettingIsAFlag()
{
    Settings s;
    po::options_description desc;
    add_setting_options(desc, s);
    int n = 0;
    for_each_setting(s, [&](const SettingInfo& info, auto&) {
        ++n;
        QVERIFY2(desc.find_nothrow(std::string(info.name), false) != nullptr, std::string(info.name).c_str());
    });
    QCOMPARE(static_cast<int>(desc.options().size()), n);
}

void TestSettings::flagsParseIntoTheStruct()
{
    Settings s;
    po::options_description desc;
    add_setting_options(desc, s);
    const char* argv[] = {
        "x",    "--listen",         "0.0.0.0:9000", "--workers", "3",        "--header-timeout",
        "1500", "--max-body-bytes", "4096",         "--db",      "/tmp/x.db"};
    po::variables_map vm;
    po::store(po::parse_command_line(11, argv, desc), vm);
    po::notify(vm);
    QCOMPARE(s.listen, std::string("0.0.0.0:9000"));
    QCOMPARE(s.workers, 3u);
    QCOMPARE(s.header_timeout, Millis(1500));
    QCOMPARE(s.max_body_bytes, std::size_t(4096));
    QCOMPARE(s.db_path, std::string("/tmp/x.db"));
    QCOMPARE(s.backlog, 4096); // untouched fields keep their defaults
}

void TestSettings::storeTargetFromStoreAndDb_data()
{
    QTest::addColumn<QString>("store");
    QTest::addColumn<QString>("db");
    QTest::addColumn<QString>("problem"); // a fragment of validate()'s answer; empty: valid
    QTest::addColumn<bool>("postgresql");
    QTest::addColumn<QString>("location");
    QTest::addRow("db alone") << ""
                              << "/tmp/a.db"
                              << "" << false << "/tmp/a.db";
    QTest::addRow("sqlite store") << "sqlite:/tmp/b.db"
                                  << ""
                                  << "" << false << "/tmp/b.db";
    QTest::addRow("both, the same file") << "sqlite:/tmp/b.db"
                                         << "/tmp/b.db"
                                         << "" << false << "/tmp/b.db";
    QTest::addRow("both, two files") << "sqlite:/tmp/b.db"
                                     << "/tmp/a.db"
                                     << "two different SQLite files" << false << "";
    QTest::addRow("uri") << "postgresql://u@h/d"
                         << ""
                         << "" << true << "postgresql://u@h/d";
    QTest::addRow("short uri") << "postgres://h/d"
                               << ""
                               << "" << true << "postgres://h/d";
    QTest::addRow("conninfo") << "postgresql:host=h dbname=d"
                              << ""
                              << "" << true << "host=h dbname=d";
    QTest::addRow("postgresql and db") << "postgresql://h/d"
                                       << "/tmp/a.db"
                                       << "give one of them" << true << "";
}

void TestSettings::storeTargetFromStoreAndDb()
{
    QFETCH(QString, store);
    QFETCH(QString, db);
    QFETCH(QString, problem);
    QFETCH(bool, postgresql);
    QFETCH(QString, location);
    Settings s;
    s.store = store.toStdString();
    s.db_path = db.toStdString();
    const std::string found = fleetscope::validate(s);
    if (!problem.isEmpty()) {
        QVERIFY2(found.find(problem.toStdString()) != std::string::npos, found.c_str());
        return;
    }
    QVERIFY2(found.empty(), found.c_str());
    const StoreTarget t = store_target(s);
    QCOMPARE(t.kind == StoreTarget::Kind::postgresql, postgresql);
    QCOMPARE(QString::fromStdString(t.location), location);
}

void TestSettings::badFlagValueIsAnError()
{
    Settings s;
    po::options_description desc;
    add_setting_options(desc, s);
    const char* argv[] = {"x", "--workers", "many"};
    po::variables_map vm;
    bool threw = false;
    try {
        po::store(po::parse_command_line(3, argv, desc), vm);
    } catch (const po::error& e) {
        threw = std::string(e.what()).find("workers") != std::string::npos;
    }
    QVERIFY(threw);
}

void TestSettings::readmeDocumentsEverySetting()
{
    std::ifstream f(FLEETSCOPE_SOURCE_DIR "/README.md");
    QVERIFY2(f, "README.md not found");
    std::stringstream ss;
    ss << f.rdbuf();
    const std::string readme = ss.str();
    Settings s;
    for_each_setting(s, [&](const SettingInfo& info, auto&) {
        const std::string row = "| `--" + std::string(info.name) + "`";
        QVERIFY2(readme.find(row) != std::string::npos, ("README lacks a settings row for " + row).c_str());
    });
}

void TestSettings::defaultsAreValid()
{
    QVERIFY(fleetscope::validate(Settings{}).empty());
    QVERIFY(resolved_workers(Settings{}) >= 1);
}

QTEST_GUILESS_MAIN(TestSettings)
#include "test_settings.moc"
