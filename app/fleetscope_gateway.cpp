// SPDX-License-Identifier: GPL-3.0-or-later
// fleetscope-gateway: the headless gateway. Prints "listening on HOST:PORT" once it accepts connections;
// SIGINT/SIGTERM stop accepting, finish the requests in flight, commit, and exit 0; SIGHUP rereads the token
// file and the alert rules. Alert raises, clears and acknowledgements are logged on stdout, one line each
// (alerts::log_line); everything else goes to stderr as levelled log lines (core/log.hpp).
// `fleetscope-gateway <subcommand> ...` runs a tool instead (see run_subcommand): `token add` issues a
// device token, `operator add` an operator token; `export` and `sessions` work on a database.
#include "core/auth/token_cli.hpp"
#include "core/capture_cli.hpp"
#include "core/cli.hpp"
#include "core/gateway.hpp"
#include "core/log.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/program_options.hpp>

#include <csignal>
#include <functional>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>

#if FLEETSCOPE_HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#include <time.h>
#endif

namespace po = boost::program_options;

namespace {

namespace log = fleetscope::log;

/// The subcommands, each given its own arguments (argv[0] is the subcommand's name). Empty when argv[1] names
/// none: then the arguments are the gateway's.
std::optional<int> run_subcommand(int argc, char** argv)
{
    if (argc < 2)
        return std::nullopt;
    const std::string_view command = argv[1];
    if (command == "export")
        return fleetscope::run_export_command(argc - 1, argv + 1, std::cout, std::cerr);
    if (command == "sessions")
        return fleetscope::run_sessions_command(argc - 1, argv + 1, std::cout, std::cerr);
    if (command == "token")
        return fleetscope::auth::run_token_command(fleetscope::auth::TokenFile::devices, argc - 1, argv + 1,
                                                   std::cout, std::cerr);
    if (command == "operator")
        return fleetscope::auth::run_token_command(fleetscope::auth::TokenFile::operators, argc - 1, argv + 1,
                                                   std::cout, std::cerr);
    return std::nullopt;
}

/// Tells systemd how the service is doing (Type=notify in fleetscope-gateway.service: READY=1 once it
/// accepts connections, RELOADING=1 and READY=1 around a SIGHUP reload, STOPPING=1). Does nothing when
/// NOTIFY_SOCKET is unset (not started by systemd) or the build has no libsystemd.
void notify_service_manager(const std::string& state)
{
#if FLEETSCOPE_HAVE_LIBSYSTEMD
    sd_notify(0, state.c_str());
#else
    (void)state;
#endif
}

/// SIGHUP: rereads the token file and the alert rules; each file that is wrong is logged and the old one
/// stays in force. Connections are not touched.
void reload(fleetscope::Gateway& gateway)
{
    std::string monotonic;
#if FLEETSCOPE_HAVE_LIBSYSTEMD
    // systemd 253's Type=notify-reload matches a reload by this timestamp; older versions ignore it.
    struct timespec now {};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    monotonic =
        "\nMONOTONIC_USEC=" + std::to_string(static_cast<unsigned long long>(now.tv_sec) * 1'000'000ULL +
                                             static_cast<unsigned long long>(now.tv_nsec) / 1000ULL);
#endif
    notify_service_manager("RELOADING=1" + monotonic);
    std::string status;
    for (const auto& r : gateway.reload()) {
        if (r.error.empty())
            log::info("SIGHUP: reloaded " + r.file + ": " + r.state);
        else
            log::error("SIGHUP: " + r.error + "; kept what was in force (" + r.state + ")");
        status += (status.empty() ? "" : "; ") + r.state;
    }
    notify_service_manager("READY=1\nSTATUS=listening on " + gateway.listening_address() + "; " + status);
}

} // namespace

int main(int argc, char** argv)
{
    fleetscope::log::set_program("fleetscope-gateway");
    if (const auto code = run_subcommand(argc, argv))
        return *code;

    fleetscope::Settings settings;
    po::options_description general(
        "Usage: fleetscope-gateway [options]\n"
        "       fleetscope-gateway token add --token-file FILE --device ID\n"
        "       fleetscope-gateway operator add --operator-token-file FILE --name NAME\n"
        "       fleetscope-gateway export --help | sessions --help\n\n"
        "Accepts device telemetry over HTTP/1.1 (POST /v1/telemetry) and stores it in SQLite.\n"
        "SIGINT and SIGTERM stop it cleanly; SIGHUP rereads the token files and the alert rules.\nOptions");
    general.add_options()("help,h", "show this help and exit")("version", "print the version and exit")(
        "settings-table", "print every setting as a Markdown table (the README's) and exit")(
        "config", po::value<std::string>()->value_name("FILE"),
        "read settings from FILE: 'key = value' lines named as the flags below without '--', '#' comments; "
        "flags given here override it");
    // The config file may set the settings only: not --help, --version or another --config.
    po::options_description setting_options("Settings (each also a 'key = value' line of --config)");
    fleetscope::add_setting_options(setting_options, settings);
    po::options_description& desc = general.add(setting_options);

    po::variables_map vm;
    try {
        po::store(po::parse_command_line(argc, argv, desc), vm);
        if (vm.count("help")) {
            std::cout << desc << "\n";
            return 0;
        }
        if (vm.count("settings-table")) {
            std::cout << fleetscope::settings_markdown(fleetscope::Settings{});
            return 0;
        }
        if (vm.count("version")) {
            std::cout << "fleetscope-gateway " FLEETSCOPE_VERSION "\n";
            return 0;
        }
        if (vm.count("config"))
            fleetscope::store_config_file(vm["config"].as<std::string>(), setting_options, vm);
        po::notify(vm);
    } catch (const po::error& e) {
        log::error(std::string(e.what()) + "; try 'fleetscope-gateway --help'");
        return 2;
    } catch (const std::runtime_error& e) {
        log::error(e.what());
        return 2;
    }

    // The handlers are installed before the gateway listens: a client that sees "listening on" may signal at
    // once, and a signal that arrives before its wait is queued for it rather than killing the process.
    boost::asio::io_context signals_io;
    boost::asio::signal_set signals(signals_io, SIGINT, SIGTERM);
#if defined(SIGHUP)
    signals.add(SIGHUP);
#endif

    fleetscope::Gateway gateway(settings);
    auto alert_feed = gateway.alerts().subscribe(settings.subscriber_queue);
    try {
        gateway.start();
    } catch (const std::exception& e) {
        log::error(e.what());
        return 1;
    }
    const auto snap = gateway.snapshot();
    log::info("version " FLEETSCOPE_VERSION "; database " + gateway.store_location() + "; " +
              std::to_string(snap.workers.size()) + " workers; backlog " +
              std::to_string(gateway.effective_backlog()) + " (asked " + std::to_string(settings.backlog) +
              "); connection ceiling " + std::to_string(gateway.connection_ceiling()) + " (RLIMIT_NOFILE " +
              std::to_string(snap.fd_limit) + ")");
    if (gateway.auth_enabled() || gateway.tls_enabled())
        log::info(std::string(gateway.tls_enabled() ? "HTTPS" : "plain HTTP") + "; device tokens " +
                  (gateway.auth_enabled() ? "required (" + settings.token_file + ")" : std::string("off")));
    if (!settings.operator_token_file.empty())
        log::info("operator tokens from " + settings.operator_token_file +
                  " (remote device reads, alert reads and acknowledgements need one)");
    log::info(std::to_string(gateway.alerts().rules().size()) + " alert rules from " +
              fleetscope::alerts::rules_path(settings));
    std::cout << "listening on " << gateway.listening_address() << std::endl;
    notify_service_manager("READY=1\nSTATUS=listening on " + gateway.listening_address());

    int received = 0;
    // Alert events are drained on this thread every sample interval, so printing never slows the gateway.
    auto print_alerts = [&] {
        fleetscope::alerts::AlertEvent e;
        bool any = false;
        while (alert_feed->pop(e)) {
            std::cout << fleetscope::alerts::log_line(e) << '\n';
            any = true;
        }
        if (any)
            std::cout.flush();
    };
    boost::asio::steady_timer alert_timer(signals_io);
    std::function<void()> arm = [&] {
        alert_timer.expires_after(settings.sample_interval);
        alert_timer.async_wait([&](const boost::system::error_code& ec) {
            // A signal may arrive after this wait completed but before it ran: cancel() then had nothing to
            // cancel, so the handler itself must not re-arm, or run() would never return.
            if (ec || received != 0)
                return;
            print_alerts();
            arm();
        });
    };
    arm();
    // The first SIGINT/SIGTERM starts the drain (when --drain-time asks for one); its end, or a second
    // signal, stops. This thread is the gateway's controlling thread, so a SIGHUP reload runs here, between
    // signals.
    boost::asio::steady_timer drain_timer(signals_io);
    std::function<void(const boost::system::error_code&, int)> on_signal =
        [&](const boost::system::error_code& ec, int sig) {
            if (ec)
                return;
#if defined(SIGHUP)
            if (sig == SIGHUP) {
                reload(gateway);
                signals.async_wait(on_signal);
                return;
            }
#endif
            if (received != 0) {
                drain_timer.cancel();
                return;
            }
            received = sig;
            alert_timer.cancel();
            gateway.drain();
            if (settings.drain_time.count() == 0)
                return;
            notify_service_manager("STATUS=draining: /healthz answers 503");
            log::info(std::string(sig == SIGINT ? "SIGINT" : "SIGTERM") + ": draining for " +
                      std::to_string(settings.drain_time.count()) +
                      " ms (/healthz answers 503); a second signal stops at once");
            drain_timer.expires_after(settings.drain_time);
            drain_timer.async_wait([&](const boost::system::error_code&) { signals.cancel(); });
            signals.async_wait(on_signal);
        };
    signals.async_wait(on_signal);
    signals_io.run();

    notify_service_manager("STOPPING=1\nSTATUS=stopping: finishing requests in flight");
    log::info(std::string(received == SIGINT ? "SIGINT" : "SIGTERM") +
              ": stopping; finishing requests in flight");
    gateway.stop();
    print_alerts();
    const auto last = gateway.snapshot();
    log::info("stopped; " + std::to_string(last.samples_committed) + " samples committed this run");
    return 0;
}
