// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <boost/unordered/unordered_flat_set.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace fleetscope::store::sqlite {

/// The writer's names-to-ids cache (devices, metrics), kept small because it holds every device of the fleet
/// for as long as the store is open: names packed end to end in one buffer, 16 bytes of entry per name, and a
/// hash index of 4-byte entry numbers. A map of std::string to id costs 40 bytes a slot, and with its slack
/// about 80 bytes per device, which an idle fleet of 15,000 connections pays as about 80 bytes per
/// connection. Names are only added, or dropped newest first (truncate), as a rolled-back batch needs. Not
/// thread-safe: the writer thread's (and its constructor's) alone. Neither copyable nor movable: the index
/// reads the entries through a pointer to this object.
class NameIds {
public:
    static constexpr std::int64_t kNone = 0; // ids given start at 1

    NameIds();
    NameIds(const NameIds&) = delete;
    NameIds& operator=(const NameIds&) = delete;

    /// The id of `name`, or kNone.
    std::int64_t find(std::string_view name) const;
    /// Adds `name` with `id`; false (and nothing changed) when the name is there already.
    bool add(std::string_view name, std::int64_t id);
    std::size_t size() const { return entries_.size(); }
    /// Drops every name added after the table held `count` names.
    void truncate(std::size_t count);

private:
    struct Entry {
        std::uint32_t offset;
        std::uint32_t size;
        std::int64_t id;
    };
    std::string_view name_of(std::uint32_t entry) const
    {
        const Entry& e = entries_[entry];
        return std::string_view(names_).substr(e.offset, e.size);
    }
    struct Hash {
        using is_transparent = void;
        const NameIds* table;
        std::size_t operator()(std::string_view name) const;
        std::size_t operator()(std::uint32_t entry) const { return (*this)(table->name_of(entry)); }
    };
    struct Equal {
        using is_transparent = void;
        const NameIds* table;
        bool operator()(std::uint32_t a, std::uint32_t b) const { return a == b; }
        bool operator()(std::string_view a, std::uint32_t b) const { return a == table->name_of(b); }
        bool operator()(std::uint32_t a, std::string_view b) const { return table->name_of(a) == b; }
    };

    std::string names_;
    std::vector<Entry> entries_;
    boost::unordered_flat_set<std::uint32_t, Hash, Equal> index_;
};

} // namespace fleetscope::store::sqlite
