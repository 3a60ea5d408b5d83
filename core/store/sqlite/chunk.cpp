// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/store/sqlite/chunk.hpp"

#include "core/store/sqlite/varint.hpp"
#include "core/store/types.hpp"

#include <bit>

namespace fleetscope::store::sqlite {

void ChunkEncoder::clear()
{
    out_.clear();
    readings_ = 0;
    first_ = 0;
    last_ = 0;
}

void ChunkEncoder::add(std::int64_t ts, double value)
{
    put_zigzag(out_, static_cast<std::int64_t>(static_cast<std::uint64_t>(ts) -
                                               static_cast<std::uint64_t>(readings_ == 0 ? 0 : last_)));
    put_double(out_, value);
    if (readings_ == 0)
        first_ = ts;
    last_ = ts;
    ++readings_;
}

ChunkDecoder::ChunkDecoder(std::string_view bytes, std::int64_t readings, std::string_view where)
    : in_(bytes)
    , left_(readings)
    , where_(where)
{
    if (readings < 0)
        corrupt();
}

void ChunkDecoder::corrupt() const
{
    throw StoreError("a corrupt chunk in " + std::string(where_) + " (at byte " + std::to_string(pos_) +
                     " of " + std::to_string(in_.size()) + ", " + std::to_string(left_) + " readings to go)");
}

bool ChunkDecoder::next(std::int64_t& ts, double& value)
{
    if (left_ == 0) {
        if (pos_ != in_.size())
            corrupt();
        return false;
    }
    std::int64_t delta;
    if (!get_zigzag(in_, pos_, delta) || !get_double(in_, pos_, value))
        corrupt();
    last_ts_ =
        static_cast<std::int64_t>(static_cast<std::uint64_t>(last_ts_) + static_cast<std::uint64_t>(delta));
    ts = last_ts_;
    --left_;
    return true;
}

} // namespace fleetscope::store::sqlite
