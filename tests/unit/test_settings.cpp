// SPDX-License-Identifier: GPL-3.0-or-later
// The one settings struct: validation, the generated CLI, and the README table checked against it.
#include "core/cli.hpp"
#include "core/settings.hpp"

#include <QTemporaryDir>
#include <QTest>
#include <boost/program_options.hpp>

#include <fstream>
#include <regex>
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
    void configFileFlagsOverride();
    void configFileErrors_data();
    void configFileErrors();
    void shippedConfigParses();
    void defaultDbUnderSystemd();
    void noDefaultDbWithoutHome();
};

namespace {

/// Writes `text` to a file in `dir` and returns its path.
std::string write_file(const QTemporaryDir& dir, const char* name, const std::string& text)
{
    const std::string path = dir.filePath(QString::fromLatin1(name)).toStdString();
    std::ofstream(path) << text;
    return path;
}

/// Sets an environment variable for the scope of one test, then puts back what was there.
class ScopedEnv {
public:
    ScopedEnv(const char* name, const char* value)
        : name_(name)
        , had_(qEnvironmentVariableIsSet(name))
        , old_(qgetenv(name))
    {
        if (value)
            qputenv(name, value);
        else
            qunsetenv(name);
    }
    ~ScopedEnv()
    {
        if (had_)
            qputenv(name_, old_);
        else
            qunsetenv(name_);
    }
    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;

private:
    const char* name_;
    bool had_;
    QByteArray old_;
};

} // namespace

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
    QTest::addRow("retention on SQLite") << "retention"
                                         << "30"
                                         << "";
    QTest::addRow("retention too long") << "retention"
                                        << "100001"
                                        << "retention: at most 100000 days";
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
    const auto valid = fleetscope::validate(s);
    if (expected.isEmpty())
        QVERIFY2(valid.ok(), valid.error().c_str());
    else
        QVERIFY2(!valid.ok() && valid.error().find(expected.toStdString()) != std::string::npos,
                 valid.error().c_str());
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
    const auto found = fleetscope::validate(s);
    if (!problem.isEmpty()) {
        QVERIFY2(!found.ok() && found.error().find(problem.toStdString()) != std::string::npos,
                 found.error().c_str());
        return;
    }
    QVERIFY2(found.ok(), found.error().c_str());
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
    const auto valid = fleetscope::validate(Settings{});
    QVERIFY2(valid.ok(), valid.error().c_str());
    QVERIFY(resolved_workers(Settings{}) >= 1);
}

void TestSettings::configFileFlagsOverride()
{
    QTemporaryDir dir;
    const std::string path = write_file(dir, "gateway.conf",
                                        "# a comment line\n"
                                        "listen = 0.0.0.0:9100\n"
                                        "\n"
                                        "workers=3   # a comment after the value\n"
                                        "header-timeout = 2500\n"
                                        "db = /var/lib/x.db\n");
    Settings s;
    po::options_description desc;
    add_setting_options(desc, s);
    const char* argv[] = {"x", "--workers", "5", "--db", "/tmp/flag.db"};
    po::variables_map vm;
    po::store(po::parse_command_line(5, argv, desc), vm); // the command line first: it wins
    store_config_file(path, desc, vm);
    po::notify(vm);
    QCOMPARE(s.listen, std::string("0.0.0.0:9100")); // from the file
    QCOMPARE(s.header_timeout, Millis(2500));        // from the file, through the Millis notifier
    QCOMPARE(s.workers, 5u);                         // the flag beats the file
    QCOMPARE(s.db_path, std::string("/tmp/flag.db"));
    QCOMPARE(s.backlog, 4096); // in neither: the default
}

void TestSettings::configFileErrors_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<QString>("expected"); // a fragment of the error
    QTest::addRow("unknown key") << "listen = 127.0.0.1:1\nworker = 2\n"
                                 << "worker";
    QTest::addRow("flag spelling") << "--workers = 2\n"
                                   << "workers";
    QTest::addRow("no equals sign") << "workers 2\n"
                                    << "workers 2";
    QTest::addRow("bad value") << "workers = many\n"
                               << "workers";
    QTest::addRow("twice") << "workers = 1\nworkers = 2\n"
                           << "workers";
}

void TestSettings::configFileErrors()
{
    QFETCH(QString, text);
    QFETCH(QString, expected);
    QTemporaryDir dir;
    const std::string path = write_file(dir, "bad.conf", text.toStdString());
    Settings s;
    po::options_description desc;
    add_setting_options(desc, s);
    po::variables_map vm;
    std::string error;
    try {
        store_config_file(path, desc, vm);
        po::notify(vm);
    } catch (const std::exception& e) {
        error = e.what();
    }
    QVERIFY2(error.find(path) != std::string::npos, ("the error names the file: " + error).c_str());
    QVERIFY2(error.find(expected.toStdString()) != std::string::npos, error.c_str());

    QVERIFY_THROWS_EXCEPTION(std::runtime_error, store_config_file(path + ".missing", desc, vm));
}

void TestSettings::shippedConfigParses()
{
    // The packaged /etc/fleetscope/gateway.conf: every key in it, and in its commented lines, is a setting.
    std::ifstream f(FLEETSCOPE_SOURCE_DIR "/packaging/linux/gateway.conf");
    QVERIFY(f);
    std::stringstream all;
    all << f.rdbuf();
    // The commented examples ("#token-file = /etc/...") must be settings too, once uncommented.
    const std::string uncommented =
        std::regex_replace(all.str(), std::regex("^#([a-z-]+ =)", std::regex::multiline), "$1");
    QVERIFY(uncommented != all.str());
    QTemporaryDir dir;
    Settings s;
    po::options_description desc;
    add_setting_options(desc, s);
    po::variables_map vm;
    store_config_file(write_file(dir, "shipped.conf", all.str()), desc, vm);
    po::notify(vm);
    QCOMPARE(s.listen, std::string("127.0.0.1:8080"));
    const auto valid = fleetscope::validate(s);
    QVERIFY2(valid.ok(), valid.error().c_str());
    Settings examples;
    po::options_description desc2;
    add_setting_options(desc2, examples);
    po::variables_map vm2;
    store_config_file(write_file(dir, "examples.conf", uncommented), desc2, vm2);
    po::notify(vm2);
    QCOMPARE(examples.token_file, std::string("/etc/fleetscope/tokens"));
}

void TestSettings::defaultDbUnderSystemd()
{
#if defined(_WIN32)
    QSKIP("STATE_DIRECTORY is systemd's");
#endif
    QTemporaryDir dir;
    const QByteArray state = dir.filePath(QStringLiteral("state")).toUtf8();
    const QByteArray list = state + ":" + dir.filePath(QStringLiteral("other")).toUtf8();
    ScopedEnv env("STATE_DIRECTORY", list.constData());
    ScopedEnv home("HOME", nullptr);
    QCOMPARE(QString::fromStdString(default_db_path()),
             QString::fromUtf8(state) + QStringLiteral("/fleetscope.db"));
}

void TestSettings::noDefaultDbWithoutHome()
{
    ScopedEnv state("STATE_DIRECTORY", nullptr);
    ScopedEnv xdg("XDG_DATA_HOME", nullptr);
    ScopedEnv home("HOME", nullptr);
    ScopedEnv appdata("LOCALAPPDATA", nullptr);
    std::string error;
    try {
        const std::string path = default_db_path();
        error = "no error; the path was " + path;
    } catch (const std::runtime_error& e) {
        error = e.what();
    }
    QVERIFY2(error.find("no default database location") != std::string::npos &&
                 error.find("--db") != std::string::npos,
             error.c_str());
}

QTEST_GUILESS_MAIN(TestSettings)
#include "test_settings.moc"
