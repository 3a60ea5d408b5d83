// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// A child process for the tests' real servers (PostgreSQL, HAProxy, gateways): started with fork/exec, its
// output in a log file, optionally as another user, and tied to the test's life. The child asks the kernel to
// send it `death_signal` when the thread that started it ends, so a test that crashes or is killed by ctest's
// timeout leaves no server behind; the destructor stops it on every ordinary exit, failures included.

#include <chrono>
#include <initializer_list>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace fleetscope::testing {

/// Owned by the thread that started it (the kernel ties the death signal to that thread).
class ChildProcess {
public:
    struct Options {
        std::vector<std::string> argv;     // argv[0] is the program's path
        std::string log_path;              // stdout and stderr, appended; empty: /dev/null
        std::optional<std::string> run_as; // a user name: switch to it (needs root); empty: stay as we are
        std::string working_dir;           // empty: inherit
        int death_signal = 9;              // SIGKILL by default
    };

    ChildProcess() = default;
    ~ChildProcess(); // kill(SIGKILL) and reap when still running
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    /// Forks and execs. Throws std::runtime_error naming the program when it cannot start.
    void start(Options options);

    bool running();
    pid_t pid() const { return pid_; }
    void signal(int sig) const;

    /// Waits up to `timeout` for the child to end; its exit status (as waitpid gives it) or nothing.
    std::optional<int> wait(std::chrono::milliseconds timeout);

    /// `sig`, then waits up to `grace`, then SIGKILL. Returns the wait status.
    int stop(int sig, std::chrono::milliseconds grace);

    const Options& options() const { return options_; }

private:
    Options options_;
    pid_t pid_ = -1;
    std::optional<int> status_;
};

/// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, read back, closed).
unsigned short free_port();

/// Whether a TCP connection to 127.0.0.1:`port` succeeds now: a server the test started is listening.
bool can_connect(unsigned short port);

/// The first of `paths` that is an executable file; empty when none is (the program is not installed).
std::string find_program(std::initializer_list<const char*> paths);

/// Runs a program to its end (as `run_as`, when set) with its output in `log_path`; its exit code, or
/// throws std::runtime_error with the log's tail when it cannot start, is killed or exceeds `timeout`.
int run_to_end(const ChildProcess::Options& options, std::chrono::milliseconds timeout);

/// The last `max_bytes` of a file, for error messages.
std::string tail_of(const std::string& path, std::size_t max_bytes = 2000);

/// Whether the test runs as root (CI does): then servers that refuse root run as an unprivileged user.
bool running_as_root();

} // namespace fleetscope::testing
