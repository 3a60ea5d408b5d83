// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "core/store/export_sinks.hpp"
#include "core/store/sqlite/chunk.hpp"
#include "core/store/sqlite/db.hpp"

#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace fleetscope::store {

/// Writes a capture file (see capture.hpp): a main file of the SQLite backend's schema, built without a
/// journal (the exporter deletes it on any failure and syncs it before the rename), and left in
/// rollback-journal mode, one self-contained file. Readings arrive as a ReadingVisitor, a group per
/// transaction, and are written as chunks; the session records and the file's meta after them. A plain object
/// of the exporting thread.
class CaptureWriter final : public ExportSink {
public:
    /// `recount`: each device's row describes the readings written here (first and last ts, distinct sample
    /// times counted as the store counts samples), for a selection that took only part of a device; else it
    /// is the source's row as given.
    CaptureWriter(const std::string& path, bool recount);

    void device(const DeviceRow& row) override;
    void reading(const std::string& metric, std::int64_t ts, double value) override;
    void group_end() override;

    void add_sessions(const std::vector<SessionRow>& sessions);
    void add_marks(const std::vector<MarkRow>& marks);
    void add_alerts(const std::vector<AlertRow>& alerts);
    /// Timeline rows, one transaction per `add_timeline_end()`.
    void add_timeline(const TimelineRow& row);
    void add_timeline_end();
    void add_meta(const std::vector<std::pair<std::string, std::string>>& rows);
    void close() override;

private:
    void begin();
    void commit();
    void flush_chunk();
    void end_device();

    std::string path_;
    bool recount_;
    sqlite::Db db_;
    sqlite::Stmt insert_chunk_, insert_device_, update_device_, insert_metric_, insert_timeline_;
    bool in_transaction_ = false;
    std::unordered_map<std::string, std::int64_t> metric_ids_;
    std::int64_t device_ = 0; // 0 before the first device
    std::int64_t metric_ = 0;
    sqlite::ChunkEncoder chunk_;
    std::vector<std::int64_t> times_; // the device's sample times, when recounting
};

} // namespace fleetscope::store
