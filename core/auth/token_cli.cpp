// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/auth/token_cli.hpp"

#include <boost/program_options.hpp>

#include <ostream>
#include <stdexcept>
#include <string>

namespace fleetscope::auth {

namespace po = boost::program_options;

namespace {

/// The words of one subcommand.
struct Command {
    const char* name;    // "token"
    const char* file;    // the option naming the token file, as the gateway's setting
    const char* who;     // the option naming whom the token is for
    const char* value;   // its value name
    const char* summary; // the usage text after the first line
    const char* who_help;
    const char* use; // how the token is then used
};

const Command& command(TokenFile kind)
{
    static const Command kDevice{
        "token",
        "token-file",
        "device",
        "ID",
        "Issues a device token: prints it once on stdout and appends the device id and the token's SHA-256 "
        "to FILE (created when absent). The token itself is stored nowhere.",
        "the device id the token may write: 1 to 128 characters of [A-Za-z0-9._:-]",
        "give it to the device as 'Authorization: Bearer <token>'"};
    static const Command kOperator{
        "operator",
        "operator-token-file",
        "name",
        "NAME",
        "Issues an operator token: prints it once on stdout and appends the operator's name and the token's "
        "SHA-256 to FILE (created when absent). The token itself is stored nowhere. With it, a client off "
        "the gateway's host reads devices, samples and alerts and acknowledges alerts.",
        "who holds the token, for the file's reader: 1 to 128 characters of [A-Za-z0-9._:-]",
        "send it as 'Authorization: Bearer <token>' with remote reads and alert acknowledgements"};
    return kind == TokenFile::operators ? kOperator : kDevice;
}

} // namespace

int run_token_command(TokenFile kind, int argc, const char* const* argv, std::ostream& out, std::ostream& err)
{
    const Command& c = command(kind);
    const std::string prefix = std::string("fleetscope-gateway ") + c.name;
    std::string file;
    std::string who;
    po::options_description desc("Usage: " + prefix + " add --" + c.file + " FILE --" + c.who + " " +
                                 c.value + "\n\n" + c.summary + "\nOptions");
    desc.add_options()("help,h", "show this help and exit")(
        c.file, po::value<std::string>(&file)->required()->value_name("FILE"),
        (std::string("the gateway's ") + c.file + " (--" + c.file + " of the gateway)").c_str())(
        c.who, po::value<std::string>(&who)->required()->value_name(c.value), c.who_help);
    po::positional_options_description none;
    try {
        const std::string action = argc > 1 ? argv[1] : "";
        if (action == "--help" || action == "-h" || action.empty()) {
            out << desc << "\n";
            return action.empty() ? 2 : 0;
        }
        if (action != "add") {
            err << prefix << ": unknown action '" << action << "': expected 'add'\n";
            return 2;
        }
        po::variables_map vm;
        // argv[1] is the action, which the parser skips as it would a program name.
        po::store(po::command_line_parser(argc - 1, argv + 1).options(desc).positional(none).run(), vm);
        if (vm.count("help")) {
            out << desc << "\n";
            return 0;
        }
        po::notify(vm);
    } catch (const po::error& e) {
        err << prefix << " add: " << e.what() << "\nTry '" << prefix << " add --help'.\n";
        return 2;
    }
    try {
        const std::string token = add_token(file, who, kind);
        out << token << std::endl;
        err << "fleetscope-gateway: token for " << (kind == TokenFile::operators ? "operator" : "device")
            << " '" << who << "' added to " << file
            << " (as its SHA-256). It is shown only this once: " << c.use << ".\n";
    } catch (const std::exception& e) {
        err << prefix << " add: " << e.what() << "\n";
        return 1;
    }
    return 0;
}

} // namespace fleetscope::auth
