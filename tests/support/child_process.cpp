// SPDX-License-Identifier: GPL-3.0-or-later
#include "support/child_process.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sstream>
#include <stdexcept>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace fleetscope::testing {

namespace {

std::string describe_status(int status)
{
    if (WIFEXITED(status))
        return "exit code " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status))
        return std::string("signal ") + strsignal(WTERMSIG(status));
    return "status " + std::to_string(status);
}

} // namespace

ChildProcess::~ChildProcess()
{
    if (pid_ > 0 && !status_)
        stop(SIGKILL, std::chrono::milliseconds(5000));
}

void ChildProcess::start(Options options)
{
    if (pid_ > 0 && !status_)
        throw std::runtime_error("ChildProcess::start: " + options_.argv.at(0) + " is still running");
    options_ = std::move(options);
    status_.reset();
    if (options_.argv.empty())
        throw std::runtime_error("ChildProcess::start: no program");

    // Everything the child needs is prepared before fork: after it, only async-signal-safe calls.
    std::vector<char*> argv;
    for (auto& a : options_.argv)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    uid_t uid = 0;
    gid_t gid = 0;
    const bool switch_user = options_.run_as.has_value();
    if (switch_user) {
        const passwd* pw = getpwnam(options_.run_as->c_str());
        if (!pw)
            throw std::runtime_error("ChildProcess::start: no user '" + *options_.run_as + "'");
        uid = pw->pw_uid;
        gid = pw->pw_gid;
    }
    const std::string log = options_.log_path.empty() ? std::string("/dev/null") : options_.log_path;
    const int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0)
        throw std::runtime_error("ChildProcess::start: cannot open " + log + ": " + std::strerror(errno));
    if (switch_user && fchown(log_fd, uid, gid) != 0) {
        // The log stays ours; the child writes through the inherited descriptor anyway.
    }
    const pid_t parent = getpid();
    const int death_signal = options_.death_signal;
    const char* dir = options_.working_dir.empty() ? nullptr : options_.working_dir.c_str();

    const pid_t pid = fork();
    if (pid < 0) {
        ::close(log_fd);
        throw std::runtime_error("ChildProcess::start: fork: " + std::string(std::strerror(errno)));
    }
    if (pid == 0) {
        // Its own process group, so a terminal's Ctrl-C reaches the test, which then stops it in order.
        setpgid(0, 0);
        dup2(log_fd, STDOUT_FILENO);
        dup2(log_fd, STDERR_FILENO);
        const int null_fd = ::open("/dev/null", O_RDONLY);
        if (null_fd >= 0)
            dup2(null_fd, STDIN_FILENO);
        auto fail = [](const char* what, int code) {
            // write(2) is async-signal-safe; the log then says why the program never ran.
            ssize_t ignored = ::write(STDERR_FILENO, what, std::strlen(what));
            (void)ignored;
            _exit(code);
        };
        if (switch_user) {
            if (setgroups(0, nullptr) != 0 || setgid(gid) != 0 || setuid(uid) != 0)
                fail("child_process: cannot switch user\n", 126);
        }
        // Set after the user switch, which would clear it.
        prctl(PR_SET_PDEATHSIG, death_signal);
        if (getppid() != parent)
            _exit(125); // the test ended before the prctl took effect
        if (dir && chdir(dir) != 0)
            fail("child_process: cannot enter the working directory\n", 124);
        execv(argv[0], argv.data());
        fail("child_process: exec failed\n", 127);
    }
    ::close(log_fd);
    pid_ = pid;
}

bool ChildProcess::running()
{
    if (pid_ <= 0 || status_)
        return false;
    int status = 0;
    const pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
        status_ = status;
        return false;
    }
    return true;
}

void ChildProcess::signal(int sig) const
{
    if (pid_ > 0 && !status_)
        ::kill(pid_, sig);
}

std::optional<int> ChildProcess::wait(std::chrono::milliseconds timeout)
{
    if (status_)
        return status_;
    if (pid_ <= 0)
        return std::nullopt;
    const auto end = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (!running())
            return status_;
        if (std::chrono::steady_clock::now() >= end)
            return std::nullopt;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

int ChildProcess::stop(int sig, std::chrono::milliseconds grace)
{
    if (pid_ <= 0)
        return 0;
    if (!status_) {
        signal(sig);
        if (!wait(grace)) {
            ::kill(pid_, SIGKILL);
            int status = 0;
            waitpid(pid_, &status, 0);
            status_ = status;
        }
    }
    return *status_;
}

unsigned short free_port()
{
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        throw std::runtime_error("free_port: socket: " + std::string(std::strerror(errno)));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        const std::string why = std::strerror(errno);
        ::close(fd);
        throw std::runtime_error("free_port: " + why);
    }
    ::close(fd);
    return ntohs(addr.sin_port);
}

bool can_connect(unsigned short port)
{
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    return ok;
}

std::string find_program(std::initializer_list<const char*> paths)
{
    for (const char* p : paths)
        if (access(p, X_OK) == 0)
            return p;
    return {};
}

std::string tail_of(const std::string& path, std::size_t max_bytes)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return "(no log at " + path + ")";
    std::ostringstream all;
    all << in.rdbuf();
    std::string s = all.str();
    if (s.size() > max_bytes)
        s = "..." + s.substr(s.size() - max_bytes);
    return s;
}

int run_to_end(const ChildProcess::Options& options, std::chrono::milliseconds timeout)
{
    ChildProcess p;
    p.start(options);
    const auto status = p.wait(timeout);
    if (!status) {
        p.stop(SIGKILL, std::chrono::milliseconds(1000));
        throw std::runtime_error(options.argv.at(0) + " did not finish within " +
                                 std::to_string(timeout.count()) +
                                 " ms; its output: " + tail_of(options.log_path));
    }
    if (!WIFEXITED(*status))
        throw std::runtime_error(options.argv.at(0) + " ended with " + describe_status(*status) +
                                 "; its output: " + tail_of(options.log_path));
    return WEXITSTATUS(*status);
}

bool running_as_root()
{
    return geteuid() == 0;
}

} // namespace fleetscope::testing
