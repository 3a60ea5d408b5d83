// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// Integer ids of device and metric names, registered once in the shared database and cached by each gateway.
// Private to core/store/pg.

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace fleetscope::store::pg {

class Connection;

/// Writer thread only.
///
/// Registration runs in statements of its own, outside the batch's transaction: an id, once returned, is
/// committed, so the cache never holds an id that a rolled-back batch took back with it. Two gateways that
/// register the same new name at once both end up with the one row: INSERT ... ON CONFLICT DO NOTHING, names
/// in sorted order so that their row locks are taken in the same order (no deadlock), then a second look for
/// the names another gateway inserted after this statement's snapshot.
class Ids {
public:
    struct StringHash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };
    using Map = std::unordered_map<std::string, std::int32_t, StringHash, std::equal_to<>>;

    /// The id of each name, registering those not cached yet. Throws PgError.
    void resolve_devices(Connection& c, const std::vector<std::string_view>& names);
    void resolve_metrics(Connection& c, const std::vector<std::string_view>& names);

    std::int32_t device(std::string_view name) const { return devices_.find(name)->second; }
    std::int32_t metric(std::string_view name) const { return metrics_.find(name)->second; }
    bool has_device(std::string_view name) const { return devices_.find(name) != devices_.end(); }
    bool has_metric(std::string_view name) const { return metrics_.find(name) != metrics_.end(); }

private:
    void resolve(Connection& c, const char* table, Map& cache, const std::vector<std::string_view>& names);

    Map devices_;
    Map metrics_;
};

} // namespace fleetscope::store::pg
