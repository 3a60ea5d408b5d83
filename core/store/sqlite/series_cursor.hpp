// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "core/store/sqlite/db.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace fleetscope::store::sqlite {

/// The readings of one stored series (a device's metric in `chunks`) within [from, to], in ts order or the
/// reverse. A bucket may hold several chunks, one per compaction round that touched it: the cursor decodes a
/// bucket's chunks together and merges them by ts, readings of one ts in the order they were committed. Used
/// by one thread, within the caller's read transaction.
class SeriesCursor {
public:
    SeriesCursor(sqlite3* db, const std::string& path, std::int64_t device, std::int64_t metric,
                 std::int64_t from, std::int64_t to, bool reverse = false);
    /// The next reading; false at the end. Throws StoreError when SQLite cannot read or a chunk is corrupt.
    bool next(std::int64_t& ts, double& value);

private:
    struct Reading {
        std::int64_t ts;
        std::int64_t chunk; // chunk id: commit order among the bucket's chunks
        std::uint32_t at;   // position in its chunk
        double value;
    };
    /// Decodes the next bucket into buffer_; false when there is none.
    bool load_bucket();
    bool step();

    sqlite3* db_;
    const std::string& path_;
    std::int64_t from_;
    std::int64_t to_;
    bool reverse_;
    Stmt stmt_;
    bool on_row_ = false; // stmt_ holds a row not yet decoded
    bool ended_ = false;
    std::vector<Reading> buffer_;
    std::size_t next_ = 0;
};

} // namespace fleetscope::store::sqlite
