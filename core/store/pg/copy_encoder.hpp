// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// The rows of one batch as COPY data for samples(device_id, metric_id, ts, value), private to core/store/pg.
// Binary is PostgreSQL's COPY BINARY format (a signature, then per row a field count and length-prefixed
// network-order fields, then a -1 trailer); text is tab-separated decimal digits.

#include "core/store/pg/pg_store.hpp"

#include <bit>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <string>

namespace fleetscope::store::pg {

/// Owned by the writer thread; reused from batch to batch so that its buffer stays allocated.
class CopyEncoder {
public:
    explicit CopyEncoder(CopyFormat format)
        : format_(format)
    {}

    void begin()
    {
        buf_.clear();
        if (format_ == CopyFormat::binary) {
            static constexpr char kSignature[] = "PGCOPY\n\377\r\n";
            buf_.append(kSignature, 11); // the signature includes its NUL
            put32(0);                    // flags
            put32(0);                    // header extension length
        }
    }

    void row(std::int32_t device, std::int32_t metric, std::int64_t ts, double value)
    {
        if (format_ == CopyFormat::binary) {
            put16(4);
            put32(4);
            put32(static_cast<std::uint32_t>(device));
            put32(4);
            put32(static_cast<std::uint32_t>(metric));
            put32(8);
            put64(static_cast<std::uint64_t>(ts));
            put32(8);
            put64(std::bit_cast<std::uint64_t>(value));
        } else {
            char tmp[96];
            char* p = tmp;
            // Each field stops one byte short of the end, which leaves room for its separator.
            const auto field = [&](auto v, char separator) {
                p = std::to_chars(p, tmp + sizeof tmp - 1, v).ptr;
                *p++ = separator;
            };
            field(device, '\t');
            field(metric, '\t');
            field(ts, '\t');
            field(value, '\n'); // the shortest form that reads back to the same double
            buf_.append(tmp, static_cast<std::size_t>(p - tmp));
        }
    }

    const std::string& finish()
    {
        if (format_ == CopyFormat::binary)
            put16(0xffff);
        return buf_;
    }

    /// The COPY statement that reads this data.
    const char* statement() const
    {
        return format_ == CopyFormat::binary
                   ? "COPY samples (device_id, metric_id, ts, value) FROM STDIN (FORMAT binary)"
                   : "COPY samples (device_id, metric_id, ts, value) FROM STDIN";
    }

private:
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
