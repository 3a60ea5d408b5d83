// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/capture_cli.hpp"

#include "core/store/capture.hpp"
#include "core/store/store.hpp"
#include "core/util/iso_time.hpp"

#include <boost/program_options.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <iomanip>
#include <memory>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#if defined(_WIN32)
#include <io.h>
#else
#include <unistd.h>
#endif

namespace fleetscope {

namespace po = boost::program_options;

namespace {

// Set by SIGINT during an export; the progress callback turns it into a cancel.
std::atomic<bool> g_interrupted{false};

extern "C" void on_sigint(int)
{
    g_interrupted.store(true);
}

bool stderr_is_terminal()
{
#if defined(_WIN32)
    return _isatty(_fileno(stderr)) != 0;
#else
    return isatty(STDERR_FILENO) != 0;
#endif
}

/// Parses `argv` against `desc`; on a usage error prints it and returns false with `code` set.
bool parse(int argc, const char* const* argv, const po::options_description& desc, po::variables_map& vm,
           std::ostream& out, std::ostream& err, const char* name, int& code)
{
    try {
        po::store(po::command_line_parser(argc, argv).options(desc).run(), vm);
        if (vm.count("help")) {
            out << desc << "\n";
            code = 0;
            return false;
        }
        po::notify(vm);
        return true;
    } catch (const po::error& e) {
        err << "fleetscope-gateway " << name << ": " << e.what() << "\nTry 'fleetscope-gateway " << name
            << " --help'.\n";
        code = 2;
        return false;
    }
}

} // namespace

int run_export_command(int argc, const char* const* argv, std::ostream& out, std::ostream& err)
{
    std::string db;
    std::string store_location;
    std::string output;
    std::string format_name;
    std::vector<std::string> devices;
    std::vector<std::string> metrics;
    po::options_description desc(
        "Usage: fleetscope-gateway export --db FILE | --store LOCATION [--session N | --from MS --to MS]\n"
        "                                 [--device GLOB]...\n"
        "                                 [--metric NAME]... --format capture|csv|jsonl -o OUT\n\n"
        "Writes a selection of a FleetScope database, safely while a gateway records into it.\nOptions");
    desc.add_options()("help,h", "show this help and exit")(
        "db", po::value<std::string>(&db)->value_name("FILE"), "the SQLite database to export from")(
        "store", po::value<std::string>(&store_location)->value_name("LOCATION"),
        "the store to export from, as the gateway's --store: sqlite:PATH or postgresql://...")(
        "session", po::value<long long>()->value_name("N"),
        "one recorded session (see `fleetscope-gateway sessions`)")(
        "from", po::value<long long>()->value_name("MS"), "readings at or after this time [ms since epoch]")(
        "to", po::value<long long>()->value_name("MS"), "readings at or before this time [ms since epoch]")(
        "device", po::value<std::vector<std::string>>(&devices)->value_name("GLOB"),
        "devices whose name matches (* ? [a-z]); repeatable; default every device")(
        "metric", po::value<std::vector<std::string>>(&metrics)->value_name("NAME"),
        "this metric; repeatable; default every metric")(
        "format", po::value<std::string>(&format_name)->value_name("FORMAT"),
        "capture (a .fleetscope file), csv or jsonl; default from OUT's extension, else capture")(
        "output,o", po::value<std::string>(&output)->required()->value_name("OUT"),
        "the file to write")("quiet,q", "no progress on stderr");
    po::variables_map vm;
    int code = 0;
    if (!parse(argc, argv, desc, vm, out, err, "export", code))
        return code;
    if (db.empty() == store_location.empty()) {
        err << "fleetscope-gateway export: give one of --db FILE and --store LOCATION (see --help)\n";
        return 2;
    }
    if (db.empty())
        db = store_location;

    store::ExportQuery query;
    if (vm.count("session"))
        query.session = vm["session"].as<long long>();
    if (vm.count("from"))
        query.from = vm["from"].as<long long>();
    if (vm.count("to"))
        query.to = vm["to"].as<long long>();
    query.devices = devices;
    query.metrics = metrics;
    if (query.session && (query.from || query.to)) {
        err << "fleetscope-gateway export: choose --session or --from/--to, not both\n";
        return 2;
    }
    store::ExportFormat format = store::ExportFormat::capture;
    if (!format_name.empty()) {
        const auto f = store::parse_export_format(format_name);
        if (!f) {
            err << "fleetscope-gateway export: --format: expected capture, csv or jsonl, got '" << format_name
                << "'\n";
            return 2;
        }
        format = *f;
    } else {
        for (const auto f : {store::ExportFormat::csv, store::ExportFormat::jsonl}) {
            const auto ext = store::file_extension(f);
            if (output.size() > ext.size() &&
                output.compare(output.size() - ext.size(), ext.size(), ext) == 0)
                format = f;
        }
    }

    const bool quiet = vm.count("quiet") != 0;
    const bool terminal = stderr_is_terminal();
    using Clock = std::chrono::steady_clock;
    const auto t0 = Clock::now();
    auto last_print = t0;
    bool printed = false;
    auto progress = [&](std::uint64_t done, std::uint64_t total) {
        const auto now = Clock::now();
        if (!quiet &&
            (now - last_print >= std::chrono::milliseconds(terminal ? 200 : 1000) || done == total)) {
            last_print = now;
            const double s = std::chrono::duration<double>(now - t0).count();
            const double pct =
                total == 0 ? 100.0 : 100.0 * static_cast<double>(done) / static_cast<double>(total);
            std::ostringstream line;
            line << "export: " << std::fixed << std::setprecision(1) << pct << "% " << done << "/" << total
                 << " samples, " << std::setprecision(0) << (s > 0 ? static_cast<double>(done) / s : 0.0)
                 << " samples/s";
            err << (terminal ? "\r" : "") << line.str() << (terminal ? "\033[K" : "\n") << std::flush;
            printed = true;
        }
        return !g_interrupted.load();
    };

    g_interrupted.store(false);
    auto previous = std::signal(SIGINT, on_sigint);
    const auto result = store::export_data(db, query, format, output, progress);
    std::signal(SIGINT, previous == SIG_ERR ? SIG_DFL : previous);
    if (printed && terminal)
        err << "\n";

    for (const std::string& w : result.warnings)
        err << "fleetscope-gateway export: warning: " << w << "\n";
    switch (result.status) {
    case store::ExportStatus::ok:
        err << "fleetscope-gateway export: wrote " << result.samples << " samples of " << result.devices
            << " devices to " << output << " (" << store::to_string(format) << ") in " << std::fixed
            << std::setprecision(2) << result.seconds << " s (" << std::setprecision(0)
            << (result.seconds > 0 ? static_cast<double>(result.samples) / result.seconds : 0.0)
            << " samples/s)\n";
        return 0;
    case store::ExportStatus::cancelled:
        err << "fleetscope-gateway export: cancelled; nothing written to " << output << "\n";
        return 130;
    case store::ExportStatus::failed:
        break;
    }
    err << "fleetscope-gateway export: " << result.error << "\n";
    return 1;
}

int run_sessions_command(int argc, const char* const* argv, std::ostream& out, std::ostream& err)
{
    std::string db;
    std::string store_location;
    po::options_description desc("Usage: fleetscope-gateway sessions --db FILE | --store LOCATION\n\n"
                                 "Lists the sessions (gateway runs) and marks recorded in a database, a "
                                 "capture or a shared store.\nOptions");
    desc.add_options()("help,h", "show this help and exit")(
        "db", po::value<std::string>(&db)->value_name("FILE"),
        "the database or capture")("store", po::value<std::string>(&store_location)->value_name("LOCATION"),
                                   "the store, as the gateway's --store: sqlite:PATH or postgresql://...");
    po::variables_map vm;
    int code = 0;
    if (!parse(argc, argv, desc, vm, out, err, "sessions", code))
        return code;
    if (db.empty() == store_location.empty()) {
        err << "fleetscope-gateway sessions: give one of --db FILE and --store LOCATION (see --help)\n";
        return 2;
    }
    try {
        // A file is read as a capture (which says more about itself), a store location through its Reader.
        std::unique_ptr<store::CaptureReader> capture;
        std::unique_ptr<store::Reader> shared;
        if (db.empty())
            shared = store::open_reader(store_location);
        else
            capture = std::make_unique<store::CaptureReader>(db);
        const store::Reader& reader = shared ? *shared : capture->reader();
        std::uint64_t devices = 0;
        std::uint64_t samples = 0;
        std::optional<std::int64_t> from;
        std::optional<std::int64_t> to;
        if (capture) {
            const auto& info = capture->info();
            if (info.capture_format > 0)
                out << "capture format " << info.capture_format << ", made by FleetScope " << info.app_version
                    << " from " << info.origin << "; filters " << info.filters << "\n";
            devices = info.devices;
            samples = info.samples;
            from = info.from_ts;
            to = info.to_ts;
        } else {
            const store::Summary summary = reader.summary();
            devices = summary.devices;
            samples = summary.readings;
            from = summary.first_ts;
            to = summary.last_ts;
        }
        out << devices << " devices, " << samples << (capture ? " samples" : " readings");
        if (from && to)
            out << " from " << util::format_iso_time(*from) << " to " << util::format_iso_time(*to);
        out << "\n\n";
        out << std::left << std::setw(6) << "id" << std::setw(26) << "started" << std::setw(26) << "ended"
            << std::setw(8) << "end"
            << "version\n";
        for (const auto& s : reader.sessions()) {
            out << std::left << std::setw(6) << s.id << std::setw(26) << util::format_iso_time(s.started_at)
                << std::setw(26) << (s.ended_at ? util::format_iso_time(*s.ended_at) : "(running)")
                << std::setw(8) << (s.end_reason.empty() ? "-" : s.end_reason) << s.app_version << "\n";
        }
        const auto marks = reader.marks();
        if (!marks.empty()) {
            out << "\nmarks:\n";
            for (const auto& m : marks)
                out << "  session " << m.session_id << "  " << util::format_iso_time(m.from_ts) << " .. "
                    << util::format_iso_time(m.to_ts) << "  --from " << m.from_ts << " --to " << m.to_ts
                    << "  " << m.label << "\n";
        }
        return 0;
    } catch (const std::exception& e) {
        err << "fleetscope-gateway sessions: " << e.what() << "\n";
        return 1;
    }
}

} // namespace fleetscope
