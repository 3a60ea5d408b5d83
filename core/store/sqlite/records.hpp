// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// The session's own records in the main file: the session row, marks, timeline points and alert changes.
// Used on the thread that owns the main file's write connection (the compactor's, or the opening thread
// before it starts); each call writes inside whatever transaction its caller opened.

#include "core/store/sqlite/db.hpp"
#include "core/store/types.hpp"
#include "core/util/result.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace fleetscope::store::sqlite {

class Records {
public:
    Records(sqlite3* db, std::string path);

    /// Closes the sessions a crash left open and records a new one; returns its id. Throws StoreError.
    std::int64_t begin_session(const std::string& app_version, const std::string& settings_json);
    /// Each: nothing, or SQLite's reason naming the file.
    util::Result<void> end_session(std::int64_t session);
    util::Result<void> add_mark(const MarkRow& mark);
    util::Result<void> add_timeline(std::int64_t session, const std::vector<TimelineRow>& points);
    util::Result<void> apply(std::int64_t session, const std::vector<AlertChange>& changes);

    /// SQLite's reason for the failure it just reported, as a failure to write the session's records.
    static util::Error failed(sqlite3* db, std::string_view path);

private:
    Stmt& statement(Stmt& slot, const char* sql);

    sqlite3* db_;
    std::string path_;
    Stmt insert_timeline_, insert_mark_, insert_alert_, clear_alert_, ack_alert_, end_session_;
};

} // namespace fleetscope::store::sqlite
