// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// One group commit as it waits in the recent file: a single row whatever the number of requests, samples and
// readings it holds, so that a commit costs one statement and a few pages (bench_store measured one row per
// reading at several times the writer's CPU per request). Readers and the compactor decode it.
//
// Layout, all integers unsigned LEB128 varints unless said otherwise:
//   byte     format (1)
//   varint   number of devices first seen in this batch, then for each: id, name length, name bytes
//   varint   number of metrics first seen in this batch, then for each: id, name length, name bytes
//   varint   number of samples, then each:
//     device id; ts as a zigzag varint of its difference from the previous sample's ts (from 0 for the
//     first); number of readings n; n times: metric id, value as 8 bytes little-endian IEEE 754.
// and nothing after the last sample: a batch cut anywhere, or with bytes after its end, is refused.
// Plain value types; each object is used by one thread.

#include "core/store/sqlite/varint.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace fleetscope::store::sqlite {

inline constexpr std::uint8_t kBatchFormat = 1;

class BatchEncoder {
public:
    void clear();
    void new_device(std::int64_t id, std::string_view name);
    void new_metric(std::int64_t id, std::string_view name);
    /// Starts a sample of `readings` readings; exactly that many reading() calls follow.
    void sample(std::int64_t device, std::int64_t ts, std::size_t readings);
    void reading(std::int64_t metric, double value);
    /// The encoded batch; valid until the next call on this encoder.
    std::string_view finish();

private:
    std::string devices_;
    std::string metrics_;
    Bytes samples_;
    std::string out_;
    std::uint64_t device_count_ = 0;
    std::uint64_t metric_count_ = 0;
    std::uint64_t sample_count_ = 0;
    std::int64_t last_ts_ = 0;
};

/// Reads one encoded batch front to back: the new names first, then the samples, each followed by its
/// readings. Every call checks bounds; a batch that is cut short or malformed throws StoreError naming
/// `where`.
class BatchDecoder {
public:
    BatchDecoder(std::string_view bytes, std::string_view where);

    /// The next name first seen in this batch; false once they are done (devices before metrics).
    bool next_device(std::int64_t& id, std::string_view& name);
    bool next_metric(std::int64_t& id, std::string_view& name);
    /// The next sample; false at the end of the batch. Skips the names and any readings not yet read.
    bool next_sample(std::int64_t& device, std::int64_t& ts, std::size_t& readings);
    /// One reading of the current sample; call it `readings` times.
    void next_reading(std::int64_t& metric, double& value);

private:
    std::uint64_t varint();
    std::string_view bytes(std::size_t n);
    [[noreturn]] void corrupt() const;
    void skip_names();

    std::string_view in_;
    std::size_t pos_ = 0;
    std::string_view where_;
    std::uint64_t devices_left_ = 0;
    std::uint64_t metrics_left_ = 0;
    std::uint64_t samples_left_ = 0;
    int section_ = 0; // 0 device names, 1 metric names, 2 samples
    std::size_t readings_left_ = 0;
    std::int64_t last_ts_ = 0;
};

} // namespace fleetscope::store::sqlite
