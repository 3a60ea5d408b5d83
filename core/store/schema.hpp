// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// The schema history, private to core/store: shared by the Store and by captures, whose files are built with
// the same migrations.

#include <string>
#include <vector>

struct sqlite3;

namespace fleetscope::store {

struct SessionRow;

/// Brings the database on `db` to Store::kSchemaVersion, one transaction per migration step. Throws
/// StoreError naming `path` when the file is newer than this build or a step fails.
void migrate_schema(sqlite3* db, const std::string& path);

/// Every session recorded in the database on `db`, oldest first, in whatever transaction `db` is in. Throws
/// StoreError naming `path` when SQLite cannot read them.
std::vector<SessionRow> read_sessions(sqlite3* db, const std::string& path);

} // namespace fleetscope::store
