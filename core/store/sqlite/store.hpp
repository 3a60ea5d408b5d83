// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "core/store/sqlite/reader.hpp"
#include "core/store/store.hpp"

#include <memory>
#include <string>

namespace fleetscope::store::sqlite {

/// Opens the SQLite store whose main file is `path` (creating and migrating both files as needed): a writer
/// thread committing into the recent file, a compactor thread moving into the main file, a checkpointer
/// thread, and a pooled reader. One process writes a store at a time: a second is refused. Throws StoreError.
std::unique_ptr<Store> open_store(const Options& options, const std::string& path);

/// Opens the main file at `path` (a store or a capture) for reading only. A file of an older schema is read
/// through a migrated temporary copy, deleted with the reader; the file itself is never written. Throws
/// StoreError naming the file: missing, not a FleetScope database, or made by a newer FleetScope.
std::unique_ptr<SqliteReader> open_file(const std::string& path);

} // namespace fleetscope::store::sqlite
