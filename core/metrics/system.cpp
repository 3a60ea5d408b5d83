// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/metrics/system.hpp"

#include <charconv>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#if defined(__unix__) || defined(__APPLE__)
#include <sys/resource.h>
#include <unistd.h>
#define FLEETSCOPE_HAS_RLIMIT 1
#endif

#if defined(__APPLE__)
#include <climits>
#endif

#if defined(_WIN32)
#include <windows.h>
#endif

#ifdef __linux__
#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#endif

namespace fleetscope::metrics {

namespace {

#ifdef FLEETSCOPE_HAS_RLIMIT
std::int64_t as_limit(rlim_t v)
{
    if (v == RLIM_INFINITY || v > static_cast<rlim_t>(std::numeric_limits<std::int64_t>::max()))
        return std::numeric_limits<std::int64_t>::max();
    return static_cast<std::int64_t>(v);
}
#endif

#ifdef __linux__
// Reads a whole /proc file. Their reported size is 0, so read until EOF instead of asking for the size.
bool read_proc_file(const char* path, std::string& out)
{
    std::FILE* f = std::fopen(path, "re");
    if (!f)
        return false;
    char buf[4096];
    std::size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0)
        out.append(buf, n);
    const bool ok = std::ferror(f) == 0;
    std::fclose(f);
    return ok;
}
#endif

bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

std::vector<std::string_view> split_fields(std::string_view line)
{
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && is_space(line[i]))
            ++i;
        const std::size_t start = i;
        while (i < line.size() && !is_space(line[i]))
            ++i;
        if (i > start)
            out.push_back(line.substr(start, i - start));
    }
    return out;
}

} // namespace

std::int64_t raise_fd_limit()
{
#ifdef FLEETSCOPE_HAS_RLIMIT
    rlimit lim{};
    if (getrlimit(RLIMIT_NOFILE, &lim) != 0)
        return -1;
    rlim_t target = lim.rlim_max;
#if defined(__APPLE__)
    // Darwin rejects a soft limit above OPEN_MAX even when the hard limit is unlimited; Go caps it the same
    // way.
    if (target == RLIM_INFINITY || target > OPEN_MAX)
        target = OPEN_MAX;
#endif
    if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur < target) {
        rlimit raised = lim;
        raised.rlim_cur = target;
        // A refusal leaves the old limit in force, which is still the right figure to report.
        (void)setrlimit(RLIMIT_NOFILE, &raised);
    }
    return fd_limit();
#else
    return -1;
#endif
}

std::int64_t fd_limit()
{
#ifdef FLEETSCOPE_HAS_RLIMIT
    rlimit lim{};
    if (getrlimit(RLIMIT_NOFILE, &lim) != 0)
        return -1;
    return as_limit(lim.rlim_cur);
#else
    return -1;
#endif
}

std::int64_t open_fd_count()
{
#ifdef __linux__
    DIR* dir = opendir("/proc/self/fd");
    if (!dir)
        return -1;
    std::int64_t n = 0;
    while (const dirent* e = readdir(dir)) {
        if (e->d_name[0] != '.')
            ++n;
    }
    closedir(dir);
    return n - 1; // the directory stream's own descriptor is listed too
#else
    return -1;
#endif
}

double process_cpu_seconds()
{
#if defined(_WIN32)
    FILETIME created, exited, kernel, user;
    if (!GetProcessTimes(GetCurrentProcess(), &created, &exited, &kernel, &user))
        return -1;
    auto secs = [](const FILETIME& t) {
        return static_cast<double>((static_cast<std::uint64_t>(t.dwHighDateTime) << 32) | t.dwLowDateTime) /
               1e7;
    };
    return secs(kernel) + secs(user);
#elif defined(FLEETSCOPE_HAS_RLIMIT)
    rusage ru{};
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return -1;
    auto secs = [](const timeval& t) {
        return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
    };
    return secs(ru.ru_utime) + secs(ru.ru_stime);
#else
    return -1;
#endif
}

ProcessMemory process_memory()
{
    ProcessMemory m;
#ifdef __linux__
    std::string text;
    if (!read_proc_file("/proc/self/statm", text))
        return m;
    // statm: size resident shared text lib data dt, in pages.
    const auto fields = split_fields(text);
    const long page = sysconf(_SC_PAGESIZE);
    if (fields.size() < 2 || page <= 0)
        return m;
    auto bytes = [page](std::string_view f) -> std::int64_t {
        std::int64_t pages = 0;
        const auto [ptr, ec] = std::from_chars(f.data(), f.data() + f.size(), pages);
        return ec == std::errc{} && ptr == f.data() + f.size() ? pages * page : -1;
    };
    m.virtual_size = bytes(fields[0]);
    m.resident = bytes(fields[1]);
#endif
    return m;
}

std::int64_t process_rss_bytes()
{
    return process_memory().resident;
}

double process_start_time_seconds()
{
#if defined(_WIN32)
    FILETIME created, exited, kernel, user;
    if (!GetProcessTimes(GetCurrentProcess(), &created, &exited, &kernel, &user))
        return -1;
    // FILETIME counts 100 ns steps since 1601-01-01; the Unix epoch is 11644473600 s later.
    const auto ticks = (static_cast<std::uint64_t>(created.dwHighDateTime) << 32) | created.dwLowDateTime;
    return static_cast<double>(ticks) / 1e7 - 11644473600.0;
#elif defined(__linux__)
    std::string stat;
    std::string self;
    if (!read_proc_file("/proc/stat", stat) || !read_proc_file("/proc/self/stat", self))
        return -1;
    std::int64_t boot = -1;
    for (std::size_t pos = 0; pos < stat.size();) {
        std::size_t end = stat.find('\n', pos);
        if (end == std::string::npos)
            end = stat.size();
        const auto fields = split_fields(std::string_view(stat).substr(pos, end - pos));
        if (fields.size() == 2 && fields[0] == "btime")
            std::from_chars(fields[1].data(), fields[1].data() + fields[1].size(), boot);
        pos = end + 1;
    }
    // The command name (field 2) is in parentheses and may hold spaces or parentheses itself: count the
    // fields after the last ')', where field 3 (state) comes first and field 22 (starttime) is the 20th.
    const auto paren = self.rfind(')');
    if (boot < 0 || paren == std::string::npos)
        return -1;
    const auto fields = split_fields(std::string_view(self).substr(paren + 1));
    std::uint64_t ticks = 0;
    const long hz = sysconf(_SC_CLK_TCK);
    if (fields.size() < 20 || hz <= 0 ||
        std::from_chars(fields[19].data(), fields[19].data() + fields[19].size(), ticks).ec != std::errc{})
        return -1;
    return static_cast<double>(boot) + static_cast<double>(ticks) / static_cast<double>(hz);
#else
    return -1;
#endif
}

ListenQueue sample_listen_queue(int listen_fd)
{
    ListenQueue q;
#ifdef __linux__
    tcp_info info{};
    socklen_t len = sizeof info;
    if (getsockopt(listen_fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0)
        return q;
    // For a socket in LISTEN the kernel reuses these two fields for the accept queue (tcp_get_info()).
    if (info.tcpi_state != TCP_LISTEN)
        return q;
    q.queue = info.tcpi_unacked;
    q.limit = info.tcpi_sacked;
#else
    (void)listen_fd;
#endif
    return q;
}

ListenCounters parse_listen_counters(std::string_view netstat)
{
    ListenCounters c;
    std::vector<std::string_view> lines;
    for (std::size_t pos = 0; pos < netstat.size();) {
        std::size_t end = netstat.find('\n', pos);
        if (end == std::string_view::npos)
            end = netstat.size();
        lines.push_back(netstat.substr(pos, end - pos));
        pos = end + 1;
    }
    constexpr std::string_view kPrefix = "TcpExt:";
    for (std::size_t i = 0; i + 1 < lines.size(); ++i) {
        if (!lines[i].starts_with(kPrefix) || !lines[i + 1].starts_with(kPrefix))
            continue;
        const auto names = split_fields(lines[i].substr(kPrefix.size()));
        const auto values = split_fields(lines[i + 1].substr(kPrefix.size()));
        for (std::size_t k = 0; k < names.size() && k < values.size(); ++k) {
            std::int64_t* target = names[k] == "ListenOverflows" ? &c.overflows
                                   : names[k] == "ListenDrops"   ? &c.drops
                                                                 : nullptr;
            if (!target)
                continue;
            std::int64_t v = 0;
            const auto f = values[k];
            const auto [ptr, ec] = std::from_chars(f.data(), f.data() + f.size(), v);
            if (ec == std::errc{} && ptr == f.data() + f.size() && v >= 0)
                *target = v;
        }
        break; // one TcpExt pair per file
    }
    return c;
}

ListenCounters read_listen_counters()
{
#ifdef __linux__
    std::string text;
    if (!read_proc_file("/proc/net/netstat", text))
        return {};
    return parse_listen_counters(text);
#else
    return {};
#endif
}

} // namespace fleetscope::metrics
