// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "core/store/types.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fleetscope::store {

/// What a store holds, in brief.
struct Summary {
    std::uint64_t devices = 0;
    std::uint64_t readings = 0;
    std::optional<std::int64_t> first_ts; // earliest and latest sample time; empty without readings
    std::optional<std::int64_t> last_ts;
};

struct TimelineQuery {
    std::int64_t from = kMinTime;       // inclusive, ms
    std::int64_t to = kMaxTime;         // inclusive, ms
    std::string series;                 // empty: every series
    std::vector<std::int64_t> sessions; // empty: every session
};

struct AlertQuery {
    std::vector<std::int64_t> sessions; // empty: every session
    std::int64_t from = kMinTime;       // alerts active at some time within [from, to]
    std::int64_t to = kMaxTime;
};

/// A bulk read of readings (exports).
struct ReadingsQuery {
    std::vector<std::string> devices; // device names, read in this order
    std::vector<std::string> metrics; // metric names; empty: every metric
    std::int64_t from = kMinTime;     // inclusive, ms
    std::int64_t to = kMaxTime;
};

/// Receives the readings of ReadingsQuery, device by device. Each device's readings come from one consistent
/// view of the store, in (metric name, ts) order. A visitor may throw to cancel the read.
class ReadingVisitor {
public:
    virtual ~ReadingVisitor() = default;
    /// Once, before anything else: about how many readings will follow (as count_readings counts them).
    virtual void begin(std::uint64_t total) { (void)total; }
    /// Before the first reading of `device` (not called for a device without any selected reading); `row` is
    /// the device's record in the same view as its readings.
    virtual void device(const DeviceRow& row) = 0;
    virtual void reading(const std::string& metric, std::int64_t ts, double value) = 0;
    /// After each group of devices read in one view.
    virtual void group_end() {}
};

/// The read side of a store: every read the gateway's endpoints, the exporter, capture review and the
/// monitor's history make. Read-only, and never in the writer's way. Thread-safe: any thread that may block
/// (never a fiber worker: the gateway runs reads through runtime::run_blocking). Every method throws
/// StoreError naming the store when it cannot read.
class Reader {
public:
    virtual ~Reader() = default;

    /// Where it reads (a file path), for messages.
    virtual const std::string& location() const = 0;

    /// Every device, ordered by name.
    virtual std::vector<DeviceRow> devices() const = 0;
    /// Every metric name, sorted.
    virtual std::vector<std::string> metric_names() const = 0;
    /// One device's readings in (ts, metric name) order, at most `q.limit` (the first, or with `q.latest` the
    /// last, of the range); empty for an unknown device or metric.
    virtual std::vector<SampleRow> samples(const SampleQuery& q) const = 0;
    virtual Summary summary() const = 0;

    /// Every recorded session, oldest first.
    virtual std::vector<SessionRow> sessions() const = 0;
    /// Every mark, in (from_ts, id) order.
    virtual std::vector<MarkRow> marks() const = 0;
    /// Timeline points in (session, series, ts) order, streamed to `row` in short reads.
    virtual void timeline(const TimelineQuery& q,
                          const std::function<void(const TimelineRow&)>& row) const = 0;
    /// The series names present, sorted.
    virtual std::vector<std::string> timeline_series() const = 0;
    /// Alerts in id order.
    virtual std::vector<AlertRow> alerts(const AlertQuery& q) const = 0;
    /// Key/value facts about the store itself (a capture's format, origin and filters).
    virtual std::vector<std::pair<std::string, std::string>> meta() const = 0;
    /// For a store that several gateways share: which gateway holds each connected device now, across all of
    /// them. Nothing for a store of one gateway (it knows its own connections).
    virtual std::optional<std::vector<DeviceHolder>> holders() const { return std::nullopt; }

    /// About how many readings each device of `q` holds, in q.devices order: for progress, not exact while
    /// a writer runs.
    virtual std::vector<std::uint64_t> count_readings(const ReadingsQuery& q) const = 0;
    /// Every reading of `q`, in groups of whole devices of about `group_readings` each, every group in one
    /// consistent view: each reading committed before the call is delivered exactly once, and a long read
    /// never holds one view (and the storage it pins) for its whole length.
    virtual void read_readings(const ReadingsQuery& q, ReadingVisitor& visitor,
                               std::uint64_t group_readings = 65'536) const = 0;

    /// The timeline of `q` as one vector (see timeline()).
    std::vector<TimelineRow> timeline(const TimelineQuery& q) const;
};

} // namespace fleetscope::store
