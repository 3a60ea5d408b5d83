// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "core/store/types.hpp"
#include "core/util/result.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace fleetscope::ui {

struct HistoryRequest {
    std::string db_path;
    std::string device;
    std::int64_t from_ms = 0; // inclusive
    std::int64_t to_ms = 0;   // inclusive
    std::size_t limit = 500'000;
};

struct History {
    std::vector<store::SampleRow> rows; // in time order
    bool truncated = false;             // more rows matched than `limit`: these are the newest
    double elapsed_ms = 0;
};

using HistoryResult = util::Result<History>;
using KnownDevicesResult = util::Result<std::vector<store::DeviceRow>>;

/// Reads the latest `limit` readings of a device's range through a store::Reader of its own (read-only), so
/// the gateway's writer is never involved: the readings, or why the store could not be read. Blocks on
/// storage: call it on a worker thread (QtConcurrent), never on the GUI thread.
HistoryResult readHistory(const HistoryRequest& request);

/// Reads the device list recorded by the store. Same threading rule as readHistory.
KnownDevicesResult readKnownDevices(const std::string& db_path);

} // namespace fleetscope::ui
