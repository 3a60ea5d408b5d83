// SPDX-License-Identifier: GPL-3.0-or-later
// fleetscope-sim: rehearses a fleet against a gateway. Parses the command line, prints progress on stderr and
// the report on stdout; the simulation itself is fleetscope::sim::run.
#include "core/log.hpp"
#include "core/sim/simulator.hpp"

#include <boost/json/serialize.hpp>
#include <boost/program_options.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <string>
#include <thread>

#if defined(_WIN32)
#include <io.h>
#else
#include <unistd.h>
#endif

namespace po = boost::program_options;
namespace sim = fleetscope::sim;

namespace {

namespace log = fleetscope::log;
using sim::grouped;

bool stderr_is_terminal()
{
#if defined(_WIN32)
    return _isatty(_fileno(stderr)) != 0;
#else
    return ::isatty(STDERR_FILENO) != 0;
#endif
}

// Prints progress on stderr: a line rewritten in place each second on a terminal, an info log line every few
// seconds otherwise (logs and pipes), and always one info line when a phase begins, which scripts can wait
// for
// ("fleetscope-sim: info: holding ...").
class ProgressPrinter {
public:
    ProgressPrinter(const sim::Options& o, bool tty)
        : o_(o)
        , tty_(tty)
    {}

    void operator()(const sim::Progress& p)
    {
        if (p.phase_started) {
            end_line();
            if (auto line = phase_line(p); !line.empty())
                log::info(line);
            return;
        }
        const std::string line = status_line(p);
        if (tty_) {
            // A status line rewritten in place, not a log line.
            std::fprintf(stderr, "\r\033[K%s", line.c_str());
            std::fflush(stderr);
            open_line_ = true;
        } else {
            log::info(line);
        }
    }

private:
    void end_line()
    {
        if (open_line_)
            std::fputc('\n', stderr);
        open_line_ = false;
    }

    std::string phase_line(const sim::Progress& p) const
    {
        switch (p.phase) {
        case sim::Phase::ramp:
            return "opening " + grouped(p.target_connections) + " connections to " + o_.target +
                   (o_.ramp_rate > 0 ? " at " + grouped(static_cast<std::uint64_t>(o_.ramp_rate)) + " conn/s"
                                     : "");
        case sim::Phase::run:
            return "opened " + grouped(p.opened) + " (" + grouped(p.failed) + " failed); running " +
                   std::string(sim::to_string(o_.mode)) + " loop for " + seconds(o_.duration);
        case sim::Phase::hold:
            return "holding " + grouped(p.opened) + " connections for " + seconds(o_.hold) + " (" +
                   grouped(p.failed) + " failed to open)";
        case sim::Phase::check:
            return "checking every held connection still answers";
        case sim::Phase::done:
            return {};
        }
        return {};
    }

    std::string status_line(const sim::Progress& p) const
    {
        char buf[256];
        switch (p.phase) {
        case sim::Phase::ramp:
            std::snprintf(buf, sizeof buf, "ramp  %5.1f s  opened %s / %s  failed %s  %s conn/s",
                          p.phase_seconds, grouped(p.opened).c_str(), grouped(p.target_connections).c_str(),
                          grouped(p.failed).c_str(),
                          grouped(static_cast<std::uint64_t>(p.connects_per_s)).c_str());
            break;
        case sim::Phase::run:
            std::snprintf(buf, sizeof buf, "run   %5.1f s  %s req/s now  %s answered  %s 2xx  %s errors",
                          p.phase_seconds, grouped(static_cast<std::uint64_t>(p.recent_rps)).c_str(),
                          grouped(p.responses).c_str(), grouped(p.ok).c_str(), grouped(p.errors).c_str());
            break;
        case sim::Phase::hold:
            std::snprintf(buf, sizeof buf, "hold  %5.1f s of %s  %s connections idle", p.phase_seconds,
                          seconds(o_.hold).c_str(), grouped(p.opened).c_str());
            break;
        case sim::Phase::check:
        case sim::Phase::done:
            std::snprintf(buf, sizeof buf, "check %5.1f s  %s answered  %s errors", p.phase_seconds,
                          grouped(p.responses).c_str(), grouped(p.errors).c_str());
            break;
        }
        return buf;
    }

    static std::string seconds(fleetscope::Millis d)
    {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%g s", static_cast<double>(d.count()) / 1000.0);
        return buf;
    }

    const sim::Options& o_;
    bool tty_;
    bool open_line_ = false;
};

fleetscope::Millis from_seconds(double s)
{
    return fleetscope::Millis(static_cast<std::int64_t>(std::llround(s * 1000.0)));
}

} // namespace

int main(int argc, char** argv)
{
    log::set_program("fleetscope-sim");
    sim::Options o;
    std::string mode = "closed";
    double duration_s = 10;
    double hold_s = 30;
    std::int64_t interval_ms = 1000;
    const unsigned cores = std::thread::hardware_concurrency();
    std::int64_t connect_ms = o.connect_timeout.count();
    std::int64_t request_ms = o.request_timeout.count();

    po::options_description desc("fleetscope-sim: opens N persistent device connections to a FleetScope "
                                 "gateway (or any server of the same\n"
                                 "HTTP contract), posts telemetry, and reports achieved requests/s, latency "
                                 "percentiles and errors.\n\n"
                                 "Options");
    // clang-format off
    desc.add_options()
        ("help,h", "show this help")
        ("version", "print the version and exit")
        ("target,t", po::value(&o.target)->default_value(o.target)->value_name("HOST:PORT"),
         "gateway address")
        ("connections,c", po::value(&o.connections)->default_value(o.connections)->value_name("N"),
         "device connections, one device each")
        ("mode,m", po::value(&mode)->default_value(mode)->value_name("MODE"),
         "closed: post back to back; open: each device posts every --interval, latency from the scheduled "
         "time; hold: post once, idle --hold seconds, then check every connection still answers")
        ("interval,i", po::value(&interval_ms)->default_value(interval_ms)->value_name("MS"),
         "open loop: ms between a device's posts; every mode: the readings' time step")
        ("duration,d", po::value(&duration_s)->default_value(duration_s)->value_name("S"),
         "closed/open loop: seconds to run")
        ("hold", po::value(&hold_s)->default_value(hold_s)->value_name("S"),
         "hold mode: seconds to keep the connections idle")
        ("metrics,k", po::value(&o.metrics)->default_value(o.metrics)->value_name("K"),
         "metrics per sample (1 to 256)")
        ("device-prefix", po::value(&o.device_prefix)->default_value(o.device_prefix)->value_name("PREFIX"),
         "devices are named PREFIX-0, PREFIX-1, ...")
        ("seed", po::value(&o.seed)->default_value(o.seed)->value_name("N"),
         "the fleet: which devices misbehave and every reading they send; a seed replays its fleet")
        ("faulty", po::value(&o.faulty)->default_value(o.faulty)->value_name("SHARE"),
         "share of devices that misbehave, 0 to 1: overheating, battery drop-outs, noisy RSSI, and falling "
         "silent (open loop only)")
        ("sources", po::value(&o.sources)->default_value(o.sources)->value_name("N"),
         "loopback source addresses 127.0.0.2, .3, ...; 0 = one per 5,000 connections (connect() finds "
         "free ports faster)")
        ("ramp-rate", po::value(&o.ramp_rate)->default_value(o.ramp_rate)->value_name("R"),
         "connections opened per second; 0 = as fast as --max-connecting allows")
        ("max-connecting", po::value(&o.max_connecting)->default_value(o.max_connecting)->value_name("N"),
         "connects in flight at once while ramping (hold mode: connect and first post)")
        ("threads", po::value(&o.threads)->default_value(cores)->value_name("N"),
         "io_context threads (default: one per core)")
        ("connect-timeout", po::value(&connect_ms)->default_value(connect_ms)->value_name("MS"),
         "ms per connect")
        ("request-timeout", po::value(&request_ms)->default_value(request_ms)->value_name("MS"),
         "ms per request, write to complete response")
        ("tls", "HTTPS; without --ca the gateway's certificate is not verified")
        ("ca", po::value(&o.ca_file)->value_name("FILE"),
         "HTTPS: verify the gateway's certificate (and the --target host name) against these PEM certificates")
        ("token", po::value(&o.token)->value_name("TOKEN"),
         "send 'Authorization: Bearer TOKEN' from every device (a gateway token file may give the same token's "
         "digest to every simulated device)")
        ("json", "print the report as JSON on stdout (stable keys)")
        ("quiet,q", "no progress on stderr");
    // clang-format on

    po::variables_map vm;
    try {
        po::store(po::parse_command_line(argc, argv, desc), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        log::error(std::string(e.what()) + " (see --help)");
        return 2;
    }
    if (vm.count("version")) {
        std::cout << "fleetscope-sim " FLEETSCOPE_VERSION "\n";
        return 0;
    }
    if (vm.count("help")) {
        std::cout << desc
                  << "\nExit status: 0 on success; 1 if a connection was refused or, in hold mode, any "
                     "request failed; 2 on bad arguments or when the run cannot start.\n";
        return 0;
    }
    const auto parsed_mode = sim::parse_mode(mode);
    if (!parsed_mode) {
        log::error("--mode '" + mode + "' is not one of closed, open, hold");
        return 2;
    }
    if (!std::isfinite(duration_s) || duration_s <= 0 || !std::isfinite(hold_s) || hold_s < 0) {
        log::error("--duration must be positive and --hold not negative, in seconds");
        return 2;
    }
    o.mode = *parsed_mode;
    o.tls = vm.count("tls") > 0;
    o.duration = from_seconds(duration_s);
    o.hold = from_seconds(hold_s);
    o.interval = fleetscope::Millis(interval_ms);
    o.connect_timeout = fleetscope::Millis(connect_ms);
    o.request_timeout = fleetscope::Millis(request_ms);

    const bool quiet = vm.count("quiet") > 0;
    const bool tty = stderr_is_terminal();
    o.progress_period = std::chrono::seconds(tty ? 1 : 5);
    if (auto valid = sim::validate(o); !valid) {
        log::error(valid.error());
        return 2;
    }

    ProgressPrinter printer(o, tty);
    sim::ProgressCallback progress;
    if (!quiet)
        progress = [&printer](const sim::Progress& p) { printer(p); };
    const sim::Report report = sim::run(o, progress);

    if (vm.count("json")) {
        std::cout << boost::json::serialize(sim::to_json(report)) << "\n";
        if (!report.fatal.empty())
            log::error(report.fatal);
    } else if (!report.fatal.empty()) {
        std::cerr << sim::format_text(report);
    } else {
        std::cout << sim::format_text(report);
    }
    return report.exit_code();
}
