// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "core/store/types.hpp"
#include "core/util/result.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace fleetscope::store {

/// The write side of a store: telemetry through a bounded queue and group commit, and the session's own
/// records (marks, timeline points, alert changes) written after commits, off the path a request waits on.
/// Thread-safe: every method may be called from any thread; none blocks on storage except stop().
class Writer {
public:
    virtual ~Writer() = default;

    /// Queues the samples of one request. Returns false, without calling `done`, when the queue holds more
    /// than Options::queue_samples or the writer is stopping. Otherwise `done` is called exactly once, on the
    /// writer's thread, after the batch holding them committed or failed.
    virtual bool submit(std::vector<telemetry::Sample>&& samples, CommitCallback done) = 0;

    /// Set before the first submit.
    virtual void set_observer(CommitObserver observer) = 0;

    /// The session this store records (0 when Options::app_version was empty or the session could not be
    /// recorded).
    virtual std::int64_t session_id() const = 0;

    /// Queues a recording span of this store's session. Nothing when queued, else what is wrong: no session,
    /// a label empty or over kMaxMarkLabel bytes, from_ts after to_ts, or stopping.
    util::Result<void> add_mark(const std::string& label, std::int64_t from_ts, std::int64_t to_ts);
    static constexpr std::size_t kMaxMarkLabel = 200;

    /// Queues timeline points of this store's session; a point repeating a (series, ts) replaces it. False
    /// when there is no session or the writer is stopping.
    virtual bool add_timeline(std::vector<TimelineRow> points) = 0;

    /// Queues alert changes of this store's session, to be written in order in one transaction. False when
    /// stopping.
    virtual bool add_alert_changes(std::vector<AlertChange> changes) = 0;

    virtual StoreStats stats() const = 0;

    /// For a store that several gateways share (PostgreSQL): the first connection of `device` on this gateway
    /// opened (`open`), or its last one closed; and this gateway began draining. A store of one gateway
    /// ignores both: the gateway knows its own connections.
    virtual void note_connection(const std::string& device, bool open)
    {
        (void)device;
        (void)open;
    }
    virtual void set_draining(bool draining) { (void)draining; }

    /// Commits everything queued, calls every pending callback, writes the queued records and the session's
    /// end, and stops the writer's threads. Idempotent.
    virtual void stop() = 0;

protected:
    /// add_mark once its arguments are valid; false when stopping.
    virtual bool queue_mark(MarkRow mark) = 0;
};

} // namespace fleetscope::store
