// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <iosfwd>

namespace fleetscope {

/// `fleetscope-gateway export --db FILE [--session N | --from MS --to MS] [--device GLOB]... [--metric
/// NAME]...
/// --format capture|csv|jsonl -o OUT`: writes a selection of a database (see store::export_data) with
/// progress on `err`. `argv[0]` is the subcommand's name. Returns the exit code: 0 written, 1 the export
/// failed, 2 a usage error, 130 cancelled (SIGINT); nothing is left at OUT unless it returns 0.
int run_export_command(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

/// `fleetscope-gateway sessions --db FILE`: lists the recorded sessions and marks of a database or capture.
/// Returns 0, 1 when the file cannot be read, 2 on a usage error.
int run_sessions_command(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

} // namespace fleetscope
