// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "core/store/reader.hpp"
#include "core/store/sqlite/db.hpp"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

namespace fleetscope::store::sqlite {

/// The Reader of a SQLite store or capture: the main file, and the recent file beside it when there is one,
/// merged into one view (docs/architecture.md, "The store"). Read-only connections, leased from a small pool
/// per call. Thread-safe: any thread that may block.
class SqliteReader final : public Reader {
public:
    /// Reads `path` (a main file of kSchemaVersion) and, when `with_recent`, its recent file. `location` is
    /// what messages name (the file the user opened, when `path` is a migrated temporary copy of it, which
    /// the reader then deletes when it goes). Throws StoreError when the first connection cannot open.
    SqliteReader(std::string path, bool with_recent, std::string location = {}, std::string temp_copy = {},
                 int schema_on_disk = 0, Millis busy_timeout = Millis{5'000});
    ~SqliteReader() override;
    SqliteReader(const SqliteReader&) = delete;
    SqliteReader& operator=(const SqliteReader&) = delete;

    const std::string& location() const override { return location_; }
    /// PRAGMA user_version of the file as it is on disk (before any migration of a copy).
    int schema_on_disk() const { return schema_on_disk_; }

    std::vector<DeviceRow> devices() const override;
    std::vector<std::string> metric_names() const override;
    std::vector<SampleRow> samples(const SampleQuery& q) const override;
    Summary summary() const override;
    std::vector<SessionRow> sessions() const override;
    std::vector<MarkRow> marks() const override;
    using Reader::timeline;
    void timeline(const TimelineQuery& q, const std::function<void(const TimelineRow&)>& row) const override;
    std::vector<std::string> timeline_series() const override;
    std::vector<AlertRow> alerts(const AlertQuery& q) const override;
    std::vector<std::pair<std::string, std::string>> meta() const override;
    std::vector<std::uint64_t> count_readings(const ReadingsQuery& q) const override;
    void read_readings(const ReadingsQuery& q, ReadingVisitor& visitor,
                       std::uint64_t group_readings) const override;

    class Lease;

private:
    Db connect() const;
    Db lease() const;
    void give_back(Db db) const;

    std::string path_;
    bool with_recent_;
    std::string location_;
    std::string temp_copy_;
    int schema_on_disk_;
    Millis busy_timeout_;

    mutable std::mutex mutex_;
    mutable std::condition_variable cv_;
    mutable std::vector<Db> idle_;
    mutable std::size_t open_ = 0;
};

} // namespace fleetscope::store::sqlite
