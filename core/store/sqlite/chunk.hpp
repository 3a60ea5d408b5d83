// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// A chunk: consecutive readings of one series (a device's metric) within one bucket of time, the row of the
// main file's `chunks` table. A compaction round writes one chunk per series and bucket it touched, so a
// reading costs a share of one row rather than a row of its own (bench_store measures both).
//
// Layout: the readings in ts order, each: ts as a zigzag varint of its difference from the previous reading's
// (from 0 for the first), value as 8 bytes little-endian IEEE 754. Nothing else: the row's `readings` column
// says how many there are, and a chunk with any other number is refused. Plain value types.

#include <cstdint>
#include <string>
#include <string_view>

namespace fleetscope::store::sqlite {

/// A bucket is 2^16 ms (65.536 s) of time: a query for [from, to] seeks straight to the buckets it covers.
inline constexpr int kBucketShift = 16;
/// Readings per chunk at most, so that a chunk stays a few pages however long a round's series.
inline constexpr std::size_t kMaxChunkReadings = 1024;

/// The bucket of `ts` (floor division, negative times included).
constexpr std::int64_t bucket_of(std::int64_t ts)
{
    return ts >> kBucketShift;
}

class ChunkEncoder {
public:
    void clear();
    /// Appends one reading; readings come in ts order (repeats allowed).
    void add(std::int64_t ts, double value);
    std::string_view bytes() const { return out_; }
    std::size_t readings() const { return readings_; }
    std::int64_t first_ts() const { return first_; }
    std::int64_t last_ts() const { return last_; }

private:
    std::string out_;
    std::size_t readings_ = 0;
    std::int64_t first_ = 0;
    std::int64_t last_ = 0;
};

/// Reads a chunk's readings in order. A chunk that is cut short, longer than `readings` says, or malformed
/// throws StoreError naming `where`.
class ChunkDecoder {
public:
    ChunkDecoder(std::string_view bytes, std::int64_t readings, std::string_view where);
    /// False after the last reading.
    bool next(std::int64_t& ts, double& value);

private:
    [[noreturn]] void corrupt() const;

    std::string_view in_;
    std::size_t pos_ = 0;
    std::int64_t left_;
    std::int64_t last_ts_ = 0;
    std::string_view where_;
};

} // namespace fleetscope::store::sqlite
