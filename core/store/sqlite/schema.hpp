// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// The schema history of the SQLite backend's two files (README.md, "Storage"; docs/architecture.md, "The
// store"): the main file (devices, metrics, the clustered samples, sessions and their records), and beside it
// `<main>-recent`, where group commits land until the compactor moves them. Captures are main files without a
// recent file.

#include <string>
#include <string_view>

struct sqlite3;

namespace fleetscope::store::sqlite {

/// PRAGMA user_version of the main file this build writes. A reader accepts every version up to it.
inline constexpr int kSchemaVersion = 3;

/// PRAGMA user_version of the recent file this build writes.
inline constexpr int kRecentSchemaVersion = 1;

/// The recent file of the main file at `main_path`.
std::string recent_path(const std::string& main_path);

/// Brings the main file on `db` to kSchemaVersion, one transaction per migration step. Throws StoreError
/// naming `path` when the file is newer than this build or a step fails.
void migrate(sqlite3* db, const std::string& path);

/// Creates the recent file's tables on `db` when it has none. Throws StoreError naming `path` when the file
/// is newer than this build or is not a recent file.
void migrate_recent(sqlite3* db, const std::string& path);

/// Throws StoreError naming `path` unless `version` (PRAGMA user_version of a main file) is one this build
/// reads: `what` names the file in the message ("database", "capture").
void check_readable_version(int version, std::string_view what, const std::string& path);

} // namespace fleetscope::store::sqlite
