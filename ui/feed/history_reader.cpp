// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/feed/history_reader.hpp"

#include "core/store/store.hpp"

#include <algorithm>
#include <chrono>

namespace fleetscope::ui {

HistoryResult readHistory(const HistoryRequest& request)
{
    const auto started = std::chrono::steady_clock::now();
    History result;
    try {
        // Its own read-only reader, so the gateway's writer is never involved.
        const auto reader = store::open_reader(request.db_path);
        store::SampleQuery q;
        q.device = request.device;
        q.from = request.from_ms;
        q.to = request.to_ms;
        // The latest readings of the range, one more than asked to tell whether more matched.
        q.limit = request.limit + 1;
        q.latest = true;
        result.rows = reader->samples(q);
        if (result.rows.size() > request.limit) {
            result.truncated = true;
            result.rows.erase(result.rows.begin());
        }
    } catch (const std::exception& e) {
        return util::fail(e.what());
    }
    result.elapsed_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
    return result;
}

KnownDevicesResult readKnownDevices(const std::string& db_path)
{
    try {
        return store::open_reader(db_path)->devices();
    } catch (const std::exception& e) {
        return util::fail(e.what());
    }
}

} // namespace fleetscope::ui
