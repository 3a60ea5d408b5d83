// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cstdint>
#include <sqlite3.h>
#include <string>

namespace fleetscope::testing {

/// The first column of the first row of `sql` on the SQLite file at `path`, read through a read-only
/// connection of the test's own (none of the store's code); -1 when the statement fails or returns no row.
inline std::int64_t sqlite_scalar(const std::string& path, const char* sql)
{
    sqlite3* db = nullptr;
    sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
    sqlite3_stmt* st = nullptr;
    std::int64_t v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

} // namespace fleetscope::testing
