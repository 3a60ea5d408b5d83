// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// The integer and double encodings the recent file's batches and the main file's chunks share: unsigned
// LEB128 varints, zigzag for signed differences, doubles as 8 bytes little-endian IEEE 754. Readers check
// bounds and report a short input by returning false.

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace fleetscope::store::sqlite {

/// Writes at `p` (room for 10 bytes); returns the end.
inline char* write_varint(char* p, std::uint64_t v)
{
    while (v >= 0x80) {
        *p++ = static_cast<char>((v & 0x7f) | 0x80);
        v >>= 7;
    }
    *p++ = static_cast<char>(v);
    return p;
}

/// Wrapping differences of any two int64 round-trip through zigzag.
inline char* write_zigzag(char* p, std::int64_t v)
{
    return write_varint(p, (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63));
}

/// Writes 8 bytes at `p`; returns the end.
inline char* write_double(char* p, double value)
{
    const auto bits = std::bit_cast<std::uint64_t>(value);
    if constexpr (std::endian::native == std::endian::little) {
        std::memcpy(p, &bits, 8);
        return p + 8;
    }
    for (int i = 0; i < 8; ++i)
        *p++ = static_cast<char>(bits >> (8 * i));
    return p;
}

inline void put_varint(std::string& out, std::uint64_t v)
{
    char buf[10];
    out.append(buf, static_cast<std::size_t>(write_varint(buf, v) - buf));
}

inline void put_zigzag(std::string& out, std::int64_t v)
{
    char buf[10];
    out.append(buf, static_cast<std::size_t>(write_zigzag(buf, v) - buf));
}

inline void put_double(std::string& out, double value)
{
    char buf[8];
    write_double(buf, value);
    out.append(buf, 8);
}

/// An append-only byte buffer that encodings write straight into: one capacity check per item, not one per
/// byte run. A plain value type.
class Bytes {
public:
    void clear() { size_ = 0; }
    /// Room for `n` more bytes: write at the returned pointer, then commit(the end of what was written).
    char* room(std::size_t n)
    {
        if (size_ + n > buf_.size())
            buf_.resize(std::max(buf_.size() * 2, size_ + n));
        return buf_.data() + size_;
    }
    void commit(const char* end) { size_ = static_cast<std::size_t>(end - buf_.data()); }
    std::string_view view() const { return {buf_.data(), size_}; }

private:
    std::string buf_;
    std::size_t size_ = 0;
};

inline bool get_varint(std::string_view in, std::size_t& pos, std::uint64_t& v)
{
    v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (pos >= in.size())
            return false;
        const auto b = static_cast<std::uint8_t>(in[pos++]);
        v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
        if ((b & 0x80) == 0)
            return true;
    }
    return false;
}

inline bool get_zigzag(std::string_view in, std::size_t& pos, std::int64_t& v)
{
    std::uint64_t u;
    if (!get_varint(in, pos, u))
        return false;
    v = static_cast<std::int64_t>(u >> 1) ^ -static_cast<std::int64_t>(u & 1);
    return true;
}

inline bool get_double(std::string_view in, std::size_t& pos, double& value)
{
    if (in.size() - pos < 8 || pos > in.size())
        return false;
    std::uint64_t bits = 0;
    for (int i = 0; i < 8; ++i)
        bits |= static_cast<std::uint64_t>(static_cast<std::uint8_t>(in[pos + static_cast<std::size_t>(i)]))
                << (8 * i);
    pos += 8;
    value = std::bit_cast<double>(bits);
    return true;
}

} // namespace fleetscope::store::sqlite
