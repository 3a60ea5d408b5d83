// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/store/sqlite/name_ids.hpp"

#include "core/store/types.hpp"

#include <boost/container_hash/hash.hpp>

#include <limits>

namespace fleetscope::store::sqlite {

NameIds::NameIds()
    : index_(0, Hash{this}, Equal{this})
{}

std::size_t NameIds::Hash::operator()(std::string_view name) const
{
    return boost::hash<std::string_view>{}(name);
}

std::int64_t NameIds::find(std::string_view name) const
{
    const auto it = index_.find(name);
    return it == index_.end() ? kNone : entries_[*it].id;
}

bool NameIds::add(std::string_view name, std::int64_t id)
{
    if (index_.contains(name))
        return false;
    // Entry numbers and offsets are 32-bit: four billion names, or 4 GiB of them, is far past any fleet.
    if (entries_.size() >= std::numeric_limits<std::uint32_t>::max() ||
        names_.size() + name.size() > std::numeric_limits<std::uint32_t>::max())
        throw StoreError("too many device or metric names for the writer's cache");
    entries_.push_back(
        Entry{static_cast<std::uint32_t>(names_.size()), static_cast<std::uint32_t>(name.size()), id});
    names_.append(name);
    index_.insert(static_cast<std::uint32_t>(entries_.size() - 1));
    return true;
}

void NameIds::truncate(std::size_t count)
{
    while (entries_.size() > count) {
        index_.erase(static_cast<std::uint32_t>(entries_.size() - 1));
        names_.resize(entries_.back().offset);
        entries_.pop_back();
    }
}

} // namespace fleetscope::store::sqlite
