// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "core/store/types.hpp"

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

struct HistoryResult {
    std::vector<store::SampleRow> rows; // in time order
    bool truncated = false;             // more rows matched than `limit`: these are the newest
    std::string error;                  // empty on success
    double elapsed_ms = 0;
};

struct KnownDevicesResult {
    std::vector<store::DeviceRow> rows;
    std::string error;
};

/// Reads the latest `limit` readings of a device's range through a store::Reader of its own (read-only), so
/// the gateway's writer is never involved. Blocks on storage: call it on a worker thread (QtConcurrent),
/// never on the GUI thread.
HistoryResult readHistory(const HistoryRequest& request);

/// Reads the device list recorded by the store. Same threading rule as readHistory.
KnownDevicesResult readKnownDevices(const std::string& db_path);

} // namespace fleetscope::ui
