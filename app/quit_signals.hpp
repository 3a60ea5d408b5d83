// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <QObject>
#include <QString>

#include <functional>
#include <memory>

class QSocketNotifier;

namespace fleetscope::app {

/// Turns the ways an operating system asks the monitor to end into a quit of the Qt event loop, so that the
/// monitor stops its gateway (drain, commit, session "stop") and exits 0 instead of dying mid-request:
/// - POSIX: SIGTERM, SIGINT and SIGHUP. The handler only writes the signal's number to a pipe, which is
///   async-signal-safe; a QSocketNotifier reads it on the GUI thread, where the quit happens. After the first
///   signal the default dispositions are back, so a second one ends the process at once.
/// - Windows: console close, Ctrl+C and Ctrl+Break, logoff and shutdown (SetConsoleCtrlHandler, on a thread
///   Windows starts for it), and WM_ENDSESSION (a native event filter), after which Windows may end the
///   process as soon as the handler returns. Both therefore wait until the gateway has stopped.
/// Created once, on the GUI thread, after the QApplication; quitRequested is emitted on the GUI thread.
class QuitSignals : public QObject {
    Q_OBJECT
public:
    /// `stop_now` stops the embedded gateway synchronously (drain and commit); it runs on the GUI thread
    /// before Windows may end the process.
    explicit QuitSignals(std::function<void()> stop_now, QObject* parent = nullptr);
    ~QuitSignals() override;

    /// Call once the clean quit is complete: a Windows console handler waiting for it may then return.
    void finished();

signals:
    /// `why` names the signal or event, for the log line.
    void quitRequested(const QString& why);

private:
    void install();
    void readSignal();

    std::function<void()> stop_now_;
    QSocketNotifier* notifier_ = nullptr;
    struct Native;
    std::unique_ptr<Native> native_;
};

} // namespace fleetscope::app
