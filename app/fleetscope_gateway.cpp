// SPDX-License-Identifier: GPL-3.0-or-later
// fleetscope-gateway: the headless gateway. Prints "listening on HOST:PORT" once it accepts connections;
// SIGINT/SIGTERM stop accepting, finish the requests in flight, commit, and exit 0. Alert raises, clears and
// acknowledgements are logged on stdout, one line each (alerts::log_line).
// `fleetscope-gateway <subcommand> ...` runs a tool instead (see run_subcommand): `token add` issues a
// device token, `operator add` an operator token; `export` and `sessions` work on a database.
#include "core/auth/token_cli.hpp"
#include "core/capture_cli.hpp"
#include "core/cli.hpp"
#include "core/gateway.hpp"

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

namespace po = boost::program_options;

namespace {

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

} // namespace

int main(int argc, char** argv)
{
    if (const auto code = run_subcommand(argc, argv))
        return *code;

    fleetscope::Settings settings;
    po::options_description desc(
        "Usage: fleetscope-gateway [options]\n"
        "       fleetscope-gateway token add --token-file FILE --device ID\n"
        "       fleetscope-gateway operator add --operator-token-file FILE --name NAME\n"
        "       fleetscope-gateway export --help | sessions --help\n\n"
        "Accepts device telemetry over HTTP/1.1 (POST /v1/telemetry) and stores it in "
        "SQLite.\nOptions");
    desc.add_options()("help,h", "show this help and exit")("version", "print the version and exit")(
        "settings-table", "print every setting as a Markdown table (the README's) and exit");
    fleetscope::add_setting_options(desc, settings);

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
        po::notify(vm);
    } catch (const po::error& e) {
        std::cerr << "fleetscope-gateway: " << e.what() << "\nTry 'fleetscope-gateway --help'.\n";
        return 2;
    }

    fleetscope::Gateway gateway(settings);
    auto alert_feed = gateway.alerts().subscribe(settings.subscriber_queue);
    try {
        gateway.start();
    } catch (const std::exception& e) {
        std::cerr << "fleetscope-gateway: " << e.what() << "\n";
        return 1;
    }
    const auto snap = gateway.snapshot();
    std::cerr << "fleetscope-gateway " FLEETSCOPE_VERSION ": database " << gateway.db_path() << "; "
              << snap.workers.size() << " workers; backlog " << gateway.effective_backlog() << " (asked "
              << settings.backlog << "); connection ceiling " << gateway.connection_ceiling()
              << " (RLIMIT_NOFILE " << snap.fd_limit << ")\n";
    if (gateway.auth_enabled() || gateway.tls_enabled())
        std::cerr << "fleetscope-gateway: " << (gateway.tls_enabled() ? "HTTPS" : "plain HTTP")
                  << "; device tokens "
                  << (gateway.auth_enabled() ? "required (" + settings.token_file + ")" : std::string("off"))
                  << "\n";
    if (!settings.operator_token_file.empty())
        std::cerr << "fleetscope-gateway: operator tokens from " << settings.operator_token_file
                  << " (remote device reads, alert reads and acknowledgements need one)\n";
    std::cerr << "fleetscope-gateway: " << gateway.alerts().rules().size() << " alert rules from "
              << fleetscope::alerts::rules_path(settings) << "\n";
    std::cout << "listening on " << gateway.listening_address() << std::endl;

    boost::asio::io_context signals_io;
    boost::asio::signal_set signals(signals_io, SIGINT, SIGTERM);
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
    // The first signal starts the drain (when --drain-time asks for one); its end, or a second signal, stops.
    boost::asio::steady_timer drain_timer(signals_io);
    std::function<void(const boost::system::error_code&, int)> on_signal =
        [&](const boost::system::error_code& ec, int sig) {
            if (ec)
                return;
            if (received != 0) {
                drain_timer.cancel();
                return;
            }
            received = sig;
            alert_timer.cancel();
            gateway.drain();
            if (settings.drain_time.count() == 0)
                return;
            std::cerr << "fleetscope-gateway: " << (sig == SIGINT ? "SIGINT" : "SIGTERM") << ": draining for "
                      << settings.drain_time.count()
                      << " ms (/healthz answers 503); a second signal stops at once\n";
            drain_timer.expires_after(settings.drain_time);
            drain_timer.async_wait([&](const boost::system::error_code&) { signals.cancel(); });
            signals.async_wait(on_signal);
        };
    signals.async_wait(on_signal);
    signals_io.run();

    std::cerr << "fleetscope-gateway: " << (received == SIGINT ? "SIGINT" : "SIGTERM")
              << ": stopping; finishing requests in flight\n";
    gateway.stop();
    print_alerts();
    const auto last = gateway.snapshot();
    std::cerr << "fleetscope-gateway: stopped; " << last.samples_committed << " samples committed this run\n";
    return 0;
}
