// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// Test hooks of the SQLite backend: null, and one relaxed atomic load each, unless a test sets them. They let
// a test stop the store at an exact step (test_crash kills the process there; test_store runs a compaction
// between a reader's two snapshots) instead of hoping a timer lands on it.

#include <atomic>

namespace fleetscope::store::sqlite {

/// Called by every SqliteReader view after it took the recent file's snapshot and before it takes the main
/// file's.
extern std::atomic<void (*)()> g_between_snapshots;

/// Called at each named step of a commit, a compaction round and a removal (see the calls of fault_point).
extern std::atomic<void (*)(const char* step)> g_fault_point;

inline void fault_point(const char* step)
{
    if (auto hook = g_fault_point.load(std::memory_order_relaxed))
        hook(step);
}

} // namespace fleetscope::store::sqlite
