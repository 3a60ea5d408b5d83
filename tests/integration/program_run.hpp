// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// Test-side helper: one run of a FleetScope executable from FLEETSCOPE_BIN_DIR (which ctest sets), with its
// stdout and stderr collected as they arrive, a wait for a line to appear, and POSIX signals. The tests that
// use it drive the real programs, as an operator or a service manager would.

#include <QFileInfo>
#include <QProcess>
#include <QRegularExpression>
#include <QString>
#include <QStringList>

#include <chrono>
#include <csignal>
#include <sys/types.h>

namespace fleetscope::testing {

/// Lives on the test thread. The process is killed when the run is destroyed, so a failing test leaves
/// nothing running.
class ProgramRun {
public:
    enum class Stream { out, err };

    ProgramRun() = default;
    ProgramRun(const ProgramRun&) = delete;
    ProgramRun& operator=(const ProgramRun&) = delete;
    ~ProgramRun()
    {
        if (process_.state() != QProcess::NotRunning) {
            process_.kill();
            process_.waitForFinished(5000);
        }
    }

    /// FLEETSCOPE_BIN_DIR/name, or empty when the variable is unset or the program is not built there.
    static QString program(const QString& name)
    {
        const QString dir = qEnvironmentVariable("FLEETSCOPE_BIN_DIR");
        const QString path = dir + QLatin1Char('/') + name;
        return !dir.isEmpty() && QFileInfo(path).isExecutable() ? path : QString();
    }

    /// Empty once started, else why not.
    QString start(const QString& program, const QStringList& args,
                  const QProcessEnvironment& env = QProcessEnvironment::systemEnvironment())
    {
        process_.setProgram(program);
        process_.setArguments(args);
        process_.setProcessEnvironment(env);
        process_.start();
        if (!process_.waitForStarted(10'000))
            return "cannot start " + program + ": " + process_.errorString();
        return {};
    }

    /// Waits up to `timeout` for `pattern` to match what `stream` has printed so far; the match, which
    /// hasMatch() says is none when the time ran out or the program ended first.
    QRegularExpressionMatch wait_for(const QRegularExpression& pattern, Stream stream = Stream::out,
                                     std::chrono::milliseconds timeout = std::chrono::seconds(15))
    {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            collect();
            auto m = pattern.match(stream == Stream::out ? out_ : err_);
            if (m.hasMatch() || std::chrono::steady_clock::now() >= deadline)
                return m;
            // Both pipes are read while waiting on either, so stderr fills even while this waits on stdout.
            if (!process_.waitForReadyRead(50) && process_.state() == QProcess::NotRunning) {
                collect();
                return pattern.match(stream == Stream::out ? out_ : err_);
            }
        }
    }

    void send_signal(int sig) { ::kill(static_cast<pid_t>(process_.processId()), sig); }

    /// Whether it exited within `timeout`; its output is collected either way.
    bool wait_finished(std::chrono::milliseconds timeout = std::chrono::seconds(20))
    {
        const bool done = process_.waitForFinished(static_cast<int>(timeout.count()));
        collect();
        return done;
    }

    const QString& out()
    {
        collect();
        return out_;
    }
    const QString& err()
    {
        collect();
        return err_;
    }
    QProcess& process() { return process_; }

private:
    void collect()
    {
        out_ += QString::fromUtf8(process_.readAllStandardOutput());
        err_ += QString::fromUtf8(process_.readAllStandardError());
    }

    QProcess process_;
    QString out_;
    QString err_;
};

} // namespace fleetscope::testing
