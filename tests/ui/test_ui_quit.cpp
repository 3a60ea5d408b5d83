// SPDX-License-Identifier: GPL-3.0-or-later
// The monitor quits like the gateway (issue 15): the real fleetscope program, offscreen, gets SIGTERM, SIGINT
// or SIGHUP while four devices post back to back into its embedded gateway. It must exit 0, keep every
// acknowledged sample (read straight from the SQLite file), and `fleetscope-gateway sessions` must list the
// run as stopped, not as a crash.
#include "integration/program_run.hpp"
#include "support/http_client.hpp"
#include "support/store_files.hpp"

#include <QProcess>
#include <QProcessEnvironment>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTest>

#include <atomic>
#include <set>
#include <thread>

using namespace fleetscope::testing;

namespace {

constexpr int kClients = 4;

} // namespace

class TestUiQuit : public QObject {
    Q_OBJECT
private slots:
    void signalQuitsCleanly_data();
    void signalQuitsCleanly();
};

void TestUiQuit::signalQuitsCleanly_data()
{
    QTest::addColumn<int>("sig");
    QTest::addRow("SIGTERM") << int(SIGTERM);
    QTest::addRow("SIGINT") << int(SIGINT);
    QTest::addRow("SIGHUP") << int(SIGHUP);
}

void TestUiQuit::signalQuitsCleanly()
{
    QFETCH(int, sig);
    const QString monitor = ProgramRun::program(QStringLiteral("fleetscope"));
    const QString gateway = ProgramRun::program(QStringLiteral("fleetscope-gateway"));
    if (monitor.isEmpty() || gateway.isEmpty())
        QSKIP("fleetscope and fleetscope-gateway are not built in FLEETSCOPE_BIN_DIR: run through ctest");
    QTemporaryDir dir;
    const QString db = dir.filePath(QStringLiteral("monitor.db"));
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("offscreen"));
    env.insert(QStringLiteral("XDG_CONFIG_HOME"), dir.filePath(QStringLiteral("config")));
    env.insert(QStringLiteral("XDG_DATA_HOME"), dir.filePath(QStringLiteral("data")));

    ProgramRun run;
    QCOMPARE(run.start(monitor, {"--listen", "127.0.0.1:0", "--db", db}, env), QString());
    static const QRegularExpression kListening(
        QStringLiteral(R"(fleetscope: info: gateway listening on 127\.0\.0\.1:(\d+)\n)"));
    const auto m = run.wait_for(kListening, ProgramRun::Stream::err, std::chrono::seconds(30));
    QVERIFY2(m.hasMatch(), qPrintable(run.err()));
    const auto port = static_cast<std::uint16_t>(m.captured(1).toUInt());

    // Devices post back to back; the signal lands while requests are in flight.
    std::vector<PostLog> logs(kClients);
    std::vector<std::unique_ptr<HttpClient>> clients;
    for (int i = 0; i < kClients; ++i) {
        logs[std::size_t(i)].device = "quit-" + std::to_string(i);
        clients.push_back(std::make_unique<HttpClient>());
        QVERIFY(clients.back()->connect(port));
    }
    std::atomic<bool> stop{false};
    std::vector<std::thread> posters;
    for (int i = 0; i < kClients; ++i)
        posters.emplace_back([&, i] {
            post_back_to_back(*clients[std::size_t(i)], logs[std::size_t(i)], 1'700'000'000'000, stop);
        });
    std::this_thread::sleep_for(milliseconds(400));
    run.send_signal(sig);
    const bool finished = run.wait_finished(std::chrono::seconds(30));
    stop.store(true);
    for (auto& t : posters)
        t.join();
    QVERIFY2(finished, "the monitor did not exit within 30 s of the signal");
    QCOMPARE(run.process().exitStatus(), QProcess::NormalExit);
    QVERIFY2(run.process().exitCode() == 0, qPrintable(run.err()));
    QVERIFY2(run.err().contains(QStringLiteral(": quitting;")), qPrintable(run.err()));

    // Every acknowledged sample is in the file.
    std::size_t acked = 0;
    std::set<std::pair<std::string, std::int64_t>> stored;
    for (const auto& r : read_readings(db.toStdString()))
        stored.insert(r);
    for (const auto& log : logs) {
        QVERIFY2(log.unexpected.empty(), first(log.unexpected));
        for (auto ts : log.acked)
            QVERIFY2(stored.count({log.device, ts}) == 1, (log.device + " " + std::to_string(ts)).c_str());
        acked += log.acked.size();
    }
    QVERIFY2(acked > 0, "no request was acknowledged before the signal");

    // The session ended as a stop, which the next start would otherwise record as a crash.
    ProgramRun sessions;
    QCOMPARE(sessions.start(gateway, {"sessions", "--db", db}), QString());
    QVERIFY(sessions.wait_finished());
    QCOMPARE(sessions.process().exitCode(), 0);
    static const QRegularExpression kStopped(QStringLiteral(R"(\n1\s+\S+\s+\S+\s+stop\s)"));
    QVERIFY2(kStopped.match(sessions.out()).hasMatch(), qPrintable(sessions.out()));
    qInfo("%s: exit 0, %zu samples acknowledged and stored, session 1 ended 'stop'", QTest::currentDataTag(),
          acked);
}

QTEST_GUILESS_MAIN(TestUiQuit)
#include "test_ui_quit.moc"
