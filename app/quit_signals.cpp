// SPDX-License-Identifier: GPL-3.0-or-later
#include "quit_signals.hpp"

#include <QCoreApplication>
#include <QSocketNotifier>

#include <utility>

#if defined(_WIN32)
#include <QAbstractNativeEventFilter>
#include <QByteArray>

#include <windows.h>
#else
#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <unistd.h>
#endif

namespace fleetscope::app {

#if defined(_WIN32)

namespace {

QuitSignals* g_instance = nullptr;
HANDLE g_quit_done = nullptr; // manual-reset event, set by finished()

/// Runs on a thread Windows starts for the event.
BOOL WINAPI on_console_event(DWORD event)
{
    const char* why = nullptr;
    switch (event) {
    case CTRL_C_EVENT:
        why = "Ctrl+C";
        break;
    case CTRL_BREAK_EVENT:
        why = "Ctrl+Break";
        break;
    case CTRL_CLOSE_EVENT:
        why = "console closed";
        break;
    case CTRL_LOGOFF_EVENT:
        why = "logoff";
        break;
    case CTRL_SHUTDOWN_EVENT:
        why = "shutdown";
        break;
    default:
        return FALSE;
    }
    QuitSignals* instance = g_instance;
    QMetaObject::invokeMethod(
        instance, [instance, why] { emit instance->quitRequested(QString::fromLatin1(why)); },
        Qt::QueuedConnection);
    // After Ctrl+C or Ctrl+Break the process lives on and the quit proceeds by itself. After the others
    // Windows ends the process as soon as this returns (or after its own timeout), so wait for the clean
    // quit.
    if (event == CTRL_CLOSE_EVENT || event == CTRL_LOGOFF_EVENT || event == CTRL_SHUTDOWN_EVENT)
        WaitForSingleObject(g_quit_done, INFINITE);
    return TRUE;
}

/// WM_ENDSESSION (the session really ends): Windows may end the process once the message is answered, so the
/// gateway stops here, synchronously, before Qt goes on to emit aboutToQuit and quit. GUI thread.
class EndSessionFilter : public QAbstractNativeEventFilter {
public:
    explicit EndSessionFilter(std::function<void()> stop_now)
        : stop_now_(std::move(stop_now))
    {}

    bool nativeEventFilter(const QByteArray& type, void* message, qintptr*) override
    {
        const MSG* msg = static_cast<const MSG*>(message);
        // Sent to every top-level window; the first one stops the gateway.
        if (!stopped_ && type == "windows_generic_MSG" && msg->message == WM_ENDSESSION && msg->wParam != 0) {
            stopped_ = true;
            if (stop_now_)
                stop_now_();
        }
        return false;
    }

private:
    std::function<void()> stop_now_;
    bool stopped_ = false;
};

} // namespace

struct QuitSignals::Native {
    std::unique_ptr<EndSessionFilter> filter;
};

void QuitSignals::install()
{
    native_ = std::make_unique<Native>();
    g_instance = this;
    g_quit_done = CreateEventW(nullptr, TRUE, FALSE, nullptr);
    SetConsoleCtrlHandler(on_console_event, TRUE);
    native_->filter = std::make_unique<EndSessionFilter>(stop_now_);
    QCoreApplication::instance()->installNativeEventFilter(native_->filter.get());
}

void QuitSignals::readSignal() {}

void QuitSignals::finished()
{
    if (g_quit_done)
        SetEvent(g_quit_done);
}

QuitSignals::~QuitSignals()
{
    finished();
    SetConsoleCtrlHandler(on_console_event, FALSE);
    if (native_ && native_->filter && QCoreApplication::instance())
        QCoreApplication::instance()->removeNativeEventFilter(native_->filter.get());
    g_instance = nullptr;
}

#else // POSIX

namespace {

constexpr int kQuitSignals[] = {SIGTERM, SIGINT, SIGHUP};
int g_signal_pipe_write = -1; // read by the handler only, after install() set it

void on_quit_signal(int signo)
{
    // Only async-signal-safe calls here: write(2), and errno kept for the code the signal interrupted.
    const int saved = errno;
    const unsigned char byte = static_cast<unsigned char>(signo);
    [[maybe_unused]] const auto written = ::write(g_signal_pipe_write, &byte, 1);
    errno = saved;
}

const char* signal_name(int signo)
{
    switch (signo) {
    case SIGTERM:
        return "SIGTERM";
    case SIGINT:
        return "SIGINT";
    case SIGHUP:
        return "SIGHUP";
    default:
        return "signal";
    }
}

bool set_flags(int fd, int flags)
{
    const int fl = ::fcntl(fd, F_GETFL);
    const int fd_fl = ::fcntl(fd, F_GETFD);
    return fl != -1 && fd_fl != -1 && ::fcntl(fd, F_SETFL, fl | flags) != -1 &&
           ::fcntl(fd, F_SETFD, fd_fl | FD_CLOEXEC) != -1;
}

} // namespace

struct QuitSignals::Native {
    int fds[2] = {-1, -1};
};

void QuitSignals::install()
{
    native_ = std::make_unique<Native>();
    // pipe() and fcntl rather than pipe2, which macOS lacks. Non-blocking: a handler never waits, and a full
    // pipe only drops a repeat of a quit already under way.
    if (::pipe(native_->fds) != 0 || !set_flags(native_->fds[0], O_NONBLOCK) ||
        !set_flags(native_->fds[1], O_NONBLOCK))
        return;
    g_signal_pipe_write = native_->fds[1];
    notifier_ = new QSocketNotifier(native_->fds[0], QSocketNotifier::Read, this);
    connect(notifier_, &QSocketNotifier::activated, this, &QuitSignals::readSignal);
    struct sigaction sa {};
    sa.sa_handler = on_quit_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    for (int sig : kQuitSignals)
        ::sigaction(sig, &sa, nullptr);
}

void QuitSignals::readSignal()
{
    unsigned char bytes[16];
    const auto n = ::read(native_->fds[0], bytes, sizeof bytes);
    if (n <= 0)
        return;
    // The quit is under way: a second signal ends the process the default way, for whoever cannot wait.
    notifier_->setEnabled(false);
    for (int sig : kQuitSignals)
        std::signal(sig, SIG_DFL);
    emit quitRequested(QString::fromLatin1(signal_name(bytes[0])));
}

void QuitSignals::finished() {}

QuitSignals::~QuitSignals()
{
    if (!native_)
        return;
    for (int sig : kQuitSignals)
        std::signal(sig, SIG_DFL);
    g_signal_pipe_write = -1;
    delete notifier_; // before its descriptor closes
    notifier_ = nullptr;
    for (int fd : native_->fds)
        if (fd != -1)
            ::close(fd);
}

#endif

QuitSignals::QuitSignals(std::function<void()> stop_now, QObject* parent)
    : QObject(parent)
    , stop_now_(std::move(stop_now))
{
    install();
}

} // namespace fleetscope::app
