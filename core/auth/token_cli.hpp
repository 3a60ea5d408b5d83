// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "core/auth/tokens.hpp"

#include <iosfwd>

namespace fleetscope::auth {

/// `fleetscope-gateway token add --token-file FILE --device ID` (kind devices) and
/// `fleetscope-gateway operator add --operator-token-file FILE --name NAME` (kind operators): prints a fresh
/// token once on `out`, appends only its SHA-256 to FILE (add_token), and says so on `err`. `argv[0]` is the
/// subcommand's name, `argv[1]` the action. Returns the exit code: 0 done, 1 refused (the message on `err`
/// says why), 2 a usage error.
int run_token_command(TokenFile kind, int argc, const char* const* argv, std::ostream& out,
                      std::ostream& err);

} // namespace fleetscope::auth
