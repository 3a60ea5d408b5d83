// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/store/pg/ids.hpp"

#include "core/store/pg/connection.hpp"

#include <algorithm>
#include <charconv>

namespace fleetscope::store::pg {

namespace {

std::int32_t to_id(std::string_view text)
{
    std::int32_t v = 0;
    std::from_chars(text.data(), text.data() + text.size(), v);
    return v;
}

} // namespace

void Ids::resolve(Connection& c, const char* table, Map& cache, const std::vector<std::string_view>& names)
{
    std::vector<std::string_view> missing;
    for (std::string_view n : names)
        if (cache.find(n) == cache.end())
            missing.push_back(n);
    if (missing.empty())
        return;
    std::sort(missing.begin(), missing.end());
    missing.erase(std::unique(missing.begin(), missing.end()), missing.end());
    const std::string array = text_array(missing);
    const std::string what = std::string("cannot register ") + table;
    const std::string insert = std::string("WITH ins AS (INSERT INTO ") + table +
                               "(name) SELECT n FROM unnest($1::text[]) AS n ORDER BY n COLLATE \"C\" "
                               "ON CONFLICT (name) DO NOTHING RETURNING id, name) "
                               "SELECT id, name FROM ins UNION ALL SELECT id, name FROM " +
                               table + " WHERE name = ANY($1::text[])";
    const std::string select = std::string("SELECT id, name FROM ") + table + " WHERE name = ANY($1::text[])";
    std::size_t found = 0;
    // The first statement's snapshot predates rows another gateway committed while this one waited on them;
    // the second statement, with a fresh snapshot, sees them.
    for (int attempt = 0; attempt < 2 && found < missing.size(); ++attempt) {
        const Result r = c.exec(attempt == 0 ? insert.c_str() : select.c_str(), {array}, what);
        for (int i = 0; i < r.rows(); ++i) {
            auto [it, added] = cache.try_emplace(std::string(r.text(i, 1)), to_id(r.text(i, 0)));
            found += added ? 1 : 0;
        }
    }
    if (found < missing.size())
        throw PgError(what + ": " + std::to_string(missing.size() - found) + " of " +
                          std::to_string(missing.size()) + " names found neither inserted nor present",
                      "", false);
}

void Ids::resolve_devices(Connection& c, const std::vector<std::string_view>& names)
{
    resolve(c, "devices", devices_, names);
}

void Ids::resolve_metrics(Connection& c, const std::vector<std::string_view>& names)
{
    resolve(c, "metrics", metrics_, names);
}

} // namespace fleetscope::store::pg
