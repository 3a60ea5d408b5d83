// SPDX-License-Identifier: GPL-3.0-or-later
// The real fleetscope program in attach mode (issue 16), offscreen: a bad --attach URL or an unreadable
// --attach-token-file stops it with exit 2 and the reason; with an operator token issued by a real
// fleetscope-gateway (access control on), it attaches, logs the gateway live, logs it gone once the gateway
// is killed, and quits on SIGTERM with exit 0. When the test runs as root it moves into a network namespace
// of its own (private_network.hpp), so the monitor reaches the gateway from 192.0.2.1, off loopback: a wrong
// token is then refused (401, logged) and the right one admitted, which shows the monitor sends it.
#include "integration/private_network.hpp"
#include "integration/program_run.hpp"

#include <QFile>
#include <QProcess>
#include <QProcessEnvironment>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTest>

#include <csignal>

using namespace fleetscope::testing;

class TestUiAttachCli : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void refusals_data();
    void refusals();
    void attachesLogsAndQuits();

private:
    QProcessEnvironment env() const;

    QTemporaryDir dir_;
    QString monitor_, gateway_;
    std::string network_; // why the private network is missing; empty when it is there
};

void TestUiAttachCli::initTestCase()
{
    // Before any thread or child process starts, so that all of them live in the namespace.
    network_ = enter_private_network();
    if (!network_.empty())
        qWarning("the monitor reaches the gateway over loopback, where no token is checked: %s",
                 network_.c_str());
    QVERIFY(dir_.isValid());
    monitor_ = ProgramRun::program(QStringLiteral("fleetscope"));
    gateway_ = ProgramRun::program(QStringLiteral("fleetscope-gateway"));
    if (monitor_.isEmpty() || gateway_.isEmpty())
        QSKIP("fleetscope and fleetscope-gateway are not built in FLEETSCOPE_BIN_DIR: run through ctest");
}

QProcessEnvironment TestUiAttachCli::env() const
{
    QProcessEnvironment e = QProcessEnvironment::systemEnvironment();
    e.insert(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("offscreen"));
    e.insert(QStringLiteral("XDG_CONFIG_HOME"), dir_.filePath(QStringLiteral("config")));
    e.insert(QStringLiteral("XDG_DATA_HOME"), dir_.filePath(QStringLiteral("data")));
    return e;
}

void TestUiAttachCli::refusals_data()
{
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QString>("message");
    QTest::addRow("not a URL") << QStringList{"--attach", "gw-a:8080"} << "expected a gateway's base URL";
    QTest::addRow("another scheme") << QStringList{"--attach", "ftp://gw-a"}
                                    << "expected a gateway's base URL";
    QTest::addRow("token file missing")
        << QStringList{"--attach", "http://127.0.0.1:9", "--attach-token-file", "/nonexistent/token"}
        << "--attach-token-file /nonexistent/token";
    QTest::addRow("back-off upside down")
        << QStringList{"--attach", "http://127.0.0.1:9", "--attach-retry-min",
                       "5000",     "--attach-retry-max", "100"}
        << "attach-retry-max: at least attach-retry-min";
    QTest::addRow("with a capture") << QStringList{"--attach", "http://127.0.0.1:9", "--open", "x.fleetscope"}
                                    << "does not go with a capture";
}

void TestUiAttachCli::refusals()
{
    QFETCH(QStringList, args);
    QFETCH(QString, message);
    ProgramRun run;
    QCOMPARE(run.start(monitor_, args, env()), QString());
    QVERIFY(run.wait_finished(std::chrono::seconds(30)));
    QCOMPARE(run.process().exitCode(), 2);
    QVERIFY2(run.err().contains(message), qPrintable(run.err()));
}

void TestUiAttachCli::attachesLogsAndQuits()
{
    // An operator token, as an operator issues one; the gateway then has access control on.
    const QString operators = dir_.filePath(QStringLiteral("operators"));
    ProgramRun issue;
    QCOMPARE(
        issue.start(gateway_, {"operator", "add", "--operator-token-file", operators, "--name", "monitor"}),
        QString());
    QVERIFY(issue.wait_finished());
    QVERIFY2(issue.process().exitCode() == 0, qPrintable(issue.err()));
    const QString token_file = dir_.filePath(QStringLiteral("monitor.token"));
    {
        QFile f(token_file);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(issue.out().toUtf8());
    }

    ProgramRun gateway;
    QCOMPARE(gateway.start(gateway_, {"--listen", QString::fromStdString(test_listen_address(network_)),
                                      "--db", dir_.filePath(QStringLiteral("gw.db")), "--gateway-name",
                                      "gw-cli", "--operator-token-file", operators, "--alert-rules",
                                      dir_.filePath(QStringLiteral("none.json"))}),
             QString());
    const auto listening =
        gateway.wait_for(QRegularExpression(QStringLiteral(R"(listening on [0-9.]+:(\d+)\n)")));
    QVERIFY2(listening.hasMatch(), qPrintable(gateway.err()));
    const QString url =
        QStringLiteral("http://%1:%2")
            .arg(network_.empty() ? QLatin1String(kRemoteAddress) : QLatin1String("127.0.0.1"))
            .arg(listening.captured(1));

    if (network_.empty()) {
        // Off loopback a wrong token is refused: the monitor shows the gateway gone, with the gateway's
        // reason.
        const QString wrong_file = dir_.filePath(QStringLiteral("wrong.token"));
        QFile wrong(wrong_file);
        QVERIFY(wrong.open(QIODevice::WriteOnly));
        wrong.write(QByteArray(64, 'a') + '\n');
        wrong.close();
        ProgramRun refused;
        QCOMPARE(refused.start(monitor_, {"--attach", url, "--attach-token-file", wrong_file}, env()),
                 QString());
        const auto denied =
            refused.wait_for(QRegularExpression(QStringLiteral(
                                 R"(: gone \(HTTP 401: the bearer token is not an operator token)")),
                             ProgramRun::Stream::err, std::chrono::seconds(30));
        QVERIFY2(denied.hasMatch(), qPrintable(refused.err()));
        refused.send_signal(SIGTERM);
        QVERIFY(refused.wait_finished(std::chrono::seconds(30)));
        QCOMPARE(refused.process().exitCode(), 0);
    }

    ProgramRun monitor;
    QCOMPARE(monitor.start(monitor_,
                           {"--attach", url, "--attach-token-file", token_file, "--attach-retry-min", "100",
                            "--attach-retry-max", "500"},
                           env()),
             QString());
    const auto live =
        monitor.wait_for(QRegularExpression(QStringLiteral("fleetscope: info: gw-cli: live at ") +
                                            QRegularExpression::escape(url)),
                         ProgramRun::Stream::err, std::chrono::seconds(30));
    QVERIFY2(live.hasMatch(), qPrintable(monitor.err()));
    QVERIFY2(monitor.err().contains(QStringLiteral("attached to ") + url), qPrintable(monitor.err()));

    gateway.send_signal(SIGKILL);
    QVERIFY(gateway.wait_finished());
    const auto gone =
        monitor.wait_for(QRegularExpression(QStringLiteral(R"(fleetscope: info: gw-cli: gone \()")),
                         ProgramRun::Stream::err, std::chrono::seconds(30));
    QVERIFY2(gone.hasMatch(), qPrintable(monitor.err()));

    monitor.send_signal(SIGTERM);
    QVERIFY2(monitor.wait_finished(std::chrono::seconds(30)),
             "the monitor did not exit within 30 s of SIGTERM");
    QCOMPARE(monitor.process().exitStatus(), QProcess::NormalExit);
    QVERIFY2(monitor.process().exitCode() == 0, qPrintable(monitor.err()));
}

QTEST_GUILESS_MAIN(TestUiAttachCli)
#include "test_ui_attach_cli.moc"
