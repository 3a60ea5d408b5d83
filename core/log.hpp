// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// Levelled log lines on stderr: `PROGRAM: LEVEL: message` on a terminal or in a file, `<N>message` when
// stderr is connected to the systemd journal, which reads the priority prefix (sd-daemon.h: SD_ERR <3>,
// SD_WARNING <4>, SD_INFO <6>) and adds the program's name and the time itself. Any thread may log: each line
// leaves in one fwrite on the unbuffered stderr, so lines from different threads do not interleave.

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#if !defined(_WIN32)
#include <sys/stat.h>
#include <unistd.h>
#endif

namespace fleetscope::log {

enum class Level { error, warning, info };

namespace detail {

/// systemd sets JOURNAL_STREAM to "DEVICE:INODE" of the stream it connected to the service's stdout and
/// stderr. It is inherited by children whose stderr may go elsewhere, so it counts only when stderr still is
/// that stream (sd-daemon's advice).
inline bool stderr_is_journal()
{
#if defined(_WIN32)
    return false;
#else
    const char* stream = std::getenv("JOURNAL_STREAM");
    if (!stream || !*stream)
        return false;
    unsigned long long device = 0;
    unsigned long long inode = 0;
    if (std::sscanf(stream, "%llu:%llu", &device, &inode) != 2)
        return false;
    struct stat st {};
    if (::fstat(STDERR_FILENO, &st) != 0)
        return false;
    return static_cast<unsigned long long>(st.st_dev) == device &&
           static_cast<unsigned long long>(st.st_ino) == inode;
#endif
}

struct State {
    std::string program = "fleetscope";
    bool journal = stderr_is_journal();
};

inline State& state()
{
    static State s;
    return s;
}

} // namespace detail

/// Names the program in every line (`fleetscope-gateway: error: ...`). Call once at the top of main(), before
/// any other thread logs.
inline void set_program(std::string_view name)
{
    detail::state().program = std::string(name);
}

/// Whether lines carry journal priority prefixes (stderr is the journal's stream).
inline bool to_journal()
{
    return detail::state().journal;
}

/// One line, `message` without its newline.
inline void write(Level level, std::string_view message)
{
    const auto& s = detail::state();
    std::string line;
    line.reserve(message.size() + s.program.size() + 16);
    if (s.journal) {
        line += level == Level::error ? "<3>" : level == Level::warning ? "<4>" : "<6>";
    } else {
        line += s.program;
        line += level == Level::error ? ": error: " : level == Level::warning ? ": warning: " : ": info: ";
    }
    line += message;
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), stderr);
}

inline void error(std::string_view message)
{
    write(Level::error, message);
}

inline void warning(std::string_view message)
{
    write(Level::warning, message);
}

inline void info(std::string_view message)
{
    write(Level::info, message);
}

} // namespace fleetscope::log
