// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// The samples of one batch as COPY data for samples(device_id, ts, metric_ids, metric_values), private to
// core/store/pg. Binary is PostgreSQL's COPY BINARY format: a signature, then per row a field count and
// length-prefixed network-order fields (an array field is its dimensions, its element type's OID and its
// length-prefixed elements), then a -1 trailer. Text is tab-separated, arrays as {1,2}.

#include "core/store/pg/pg_store.hpp"

#include <bit>
#include <charconv>
#include <cstdint>
#include <string>
#include <vector>

namespace fleetscope::store::pg {

/// One sample as the samples table holds it: its readings are `count` entries of the batch's metric id and
/// value arrays, from `first`.
struct Row {
    std::int32_t device;
    std::int64_t ts;
    std::uint32_t first;
    std::uint32_t count;
};

/// Owned by the writer thread; reused from batch to batch so that its buffer stays allocated.
class CopyEncoder {
public:
    explicit CopyEncoder(CopyFormat format)
        : format_(format)
    {}

    /// The COPY data of `rows` in their order; `metrics` and `values` hold their readings.
    const std::string& encode(const std::vector<Row>& rows, const std::vector<std::int32_t>& metrics,
                              const std::vector<double>& values)
    {
        buf_.clear();
        if (format_ == CopyFormat::binary) {
            static constexpr char kSignature[] = "PGCOPY\n\377\r\n";
            buf_.append(kSignature, 11); // the signature includes its NUL
            put32(0);                    // flags
            put32(0);                    // header extension length
            for (const Row& r : rows) {
                put16(4);
                put32(4);
                put32(static_cast<std::uint32_t>(r.device));
                put32(8);
                put64(static_cast<std::uint64_t>(r.ts));
                array_header(r.count, kInt4Oid, 4);
                for (std::uint32_t i = 0; i < r.count; ++i) {
                    put32(4);
                    put32(static_cast<std::uint32_t>(metrics[r.first + i]));
                }
                array_header(r.count, kFloat8Oid, 8);
                for (std::uint32_t i = 0; i < r.count; ++i) {
                    put32(8);
                    put64(std::bit_cast<std::uint64_t>(values[r.first + i]));
                }
            }
            put16(0xffff);
        } else {
            for (const Row& r : rows) {
                number(r.device);
                buf_ += '\t';
                number(r.ts);
                buf_ += "\t{";
                for (std::uint32_t i = 0; i < r.count; ++i) {
                    if (i != 0)
                        buf_ += ',';
                    number(metrics[r.first + i]);
                }
                buf_ += "}\t{";
                for (std::uint32_t i = 0; i < r.count; ++i) {
                    if (i != 0)
                        buf_ += ',';
                    number(values[r.first + i]); // the shortest form that reads back to the same double
                }
                buf_ += "}\n";
            }
        }
        return buf_;
    }

    /// The COPY statement that reads this data.
    const char* statement() const
    {
        return format_ == CopyFormat::binary
                   ? "COPY samples (device_id, ts, metric_ids, metric_values) FROM STDIN (FORMAT binary)"
                   : "COPY samples (device_id, ts, metric_ids, metric_values) FROM STDIN";
    }

private:
    static constexpr std::uint32_t kInt4Oid = 23;
    static constexpr std::uint32_t kFloat8Oid = 701;

    /// A one-dimensional array of `n` non-null elements of `size` bytes: the field's length, then the array
    /// header.
    void array_header(std::uint32_t n, std::uint32_t oid, std::uint32_t size)
    {
        put32(20 + n * (4 + size)); // 5 header words, then a length and the bytes per element
        put32(1);                   // dimensions
        put32(0);                   // no nulls
        put32(oid);
        put32(n); // length of the dimension
        put32(1); // its lower bound
    }
    void number(auto v)
    {
        char tmp[32];
        buf_.append(tmp, std::to_chars(tmp, tmp + sizeof tmp, v).ptr);
    }
    void put16(std::uint16_t v)
    {
        const char b[2] = {static_cast<char>(v >> 8), static_cast<char>(v)};
        buf_.append(b, 2);
    }
    void put32(std::uint32_t v)
    {
        const char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
                           static_cast<char>(v)};
        buf_.append(b, 4);
    }
    void put64(std::uint64_t v)
    {
        put32(static_cast<std::uint32_t>(v >> 32));
        put32(static_cast<std::uint32_t>(v));
    }

    CopyFormat format_;
    std::string buf_;
};

} // namespace fleetscope::store::pg
