// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// A reader of a FleetScope store's SQLite files for the tests, that goes through none of the store's own
// reading code.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fleetscope::testing {

/// Every reading of one metric in a FleetScope store, as (device, ts) pairs sorted. Reads the main file's
/// `chunks` straight through SQLite, and the batches of the recent file beside it that the main file's
/// compaction marker says are not moved yet, decoded with the chunk and batch codecs alone: none of the
/// store's reading or merging code, so that a bug there cannot hide itself. Throws with SQLite's reason.
std::vector<std::pair<std::string, std::int64_t>> read_readings(const std::string& path,
                                                                std::string_view metric = "v");

} // namespace fleetscope::testing
