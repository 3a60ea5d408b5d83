// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/store/sqlite/series_cursor.hpp"

#include "core/store/sqlite/chunk.hpp"

#include <algorithm>
#include <tuple>

namespace fleetscope::store::sqlite {

namespace {

constexpr const char* kForward = R"sql(
SELECT id, bucket, readings, data FROM chunks
WHERE device_id = ?1 AND metric_id = ?2 AND bucket >= ?3 AND bucket <= ?4 ORDER BY bucket, id)sql";

constexpr const char* kReverse = R"sql(
SELECT id, bucket, readings, data FROM chunks
WHERE device_id = ?1 AND metric_id = ?2 AND bucket >= ?3 AND bucket <= ?4 ORDER BY bucket DESC, id DESC)sql";

} // namespace

SeriesCursor::SeriesCursor(sqlite3* db, const std::string& path, std::int64_t device, std::int64_t metric,
                           std::int64_t from, std::int64_t to, bool reverse)
    : db_(db)
    , path_(path)
    , from_(from)
    , to_(to)
    , reverse_(reverse)
    , stmt_(prepare(db, reverse ? kReverse : kForward, path))
{
    stmt_.bind(1, device);
    stmt_.bind(2, metric);
    stmt_.bind(3, bucket_of(from));
    stmt_.bind(4, bucket_of(to));
}

bool SeriesCursor::step()
{
    const int rc = stmt_.step();
    if (rc == SQLITE_ROW)
        return on_row_ = true;
    if (rc != SQLITE_DONE)
        throw StoreError(describe(db_, "cannot read chunks", path_));
    on_row_ = false;
    ended_ = true;
    return false;
}

bool SeriesCursor::load_bucket()
{
    buffer_.clear();
    next_ = 0;
    while (buffer_.empty()) {
        if (!on_row_ && (ended_ || !step()))
            return false;
        const std::int64_t bucket = stmt_.int64(1);
        // Every chunk of this bucket, then the merge.
        do {
            const std::int64_t chunk = stmt_.int64(0);
            ChunkDecoder decoder(stmt_.blob(3), stmt_.int64(2), path_);
            std::int64_t ts;
            double value;
            for (std::uint32_t at = 0; decoder.next(ts, value); ++at) {
                if (ts >= from_ && ts <= to_)
                    buffer_.push_back(Reading{ts, chunk, at, value});
            }
        } while (step() && stmt_.int64(1) == bucket);
        auto order = [](const Reading& a, const Reading& b) {
            return std::tie(a.ts, a.chunk, a.at) < std::tie(b.ts, b.chunk, b.at);
        };
        // Rounds are mostly in time order: a bucket's chunks usually follow each other already.
        if (!std::is_sorted(buffer_.begin(), buffer_.end(), order))
            std::sort(buffer_.begin(), buffer_.end(), order);
        if (reverse_)
            std::reverse(buffer_.begin(), buffer_.end());
    }
    return true;
}

bool SeriesCursor::next(std::int64_t& ts, double& value)
{
    if (next_ == buffer_.size() && !load_bucket())
        return false;
    ts = buffer_[next_].ts;
    value = buffer_[next_].value;
    ++next_;
    return true;
}

} // namespace fleetscope::store::sqlite
