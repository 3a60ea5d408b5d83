// SPDX-License-Identifier: GPL-3.0-or-later
// fleetscope-gateway: the headless gateway. Prints "listening on HOST:PORT" once it accepts connections;
// SIGINT/SIGTERM stop accepting, finish the requests in flight, commit, and exit 0.
// `fleetscope-gateway <subcommand> ...` runs a tool over a database instead (see run_subcommand).
#include "core/capture_cli.hpp"
#include "core/cli.hpp"
#include "core/gateway.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/program_options.hpp>

#include <csignal>
#include <iostream>
#include <optional>
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
    std::cout << "listening on " << gateway.listening_address() << std::endl;

    boost::asio::io_context signals_io;
    boost::asio::signal_set signals(signals_io, SIGINT, SIGTERM);
    int received = 0;
    signals.async_wait([&](const boost::system::error_code&, int sig) { received = sig; });
    signals_io.run();

    std::cerr << "fleetscope-gateway: " << (received == SIGINT ? "SIGINT" : "SIGTERM")
              << ": stopping; finishing requests in flight\n";
    gateway.stop();
    const auto last = gateway.snapshot();
    std::cerr << "fleetscope-gateway: stopped; " << last.samples_committed << " samples committed this run\n";
    return 0;
}
