// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// The storage boundary (docs/architecture.md, "The store"): the gateway, its endpoints, the exporter, capture
// review and the monitor reach storage only through a Writer and a Reader, opened here from a location.
// `sqlite:PATH` or a plain path opens the embedded SQLite store (core/store/sqlite); `postgresql://...`,
// `postgres://...` or `postgresql:CONNINFO` the PostgreSQL store (core/store/pg) that several gateways share.

#include "core/store/reader.hpp"
#include "core/store/types.hpp"
#include "core/store/writer.hpp"

#include <memory>
#include <string>

namespace fleetscope::store {

/// An open store: its writer, and a reader over the same data. Destroying it stops the writer.
class Store {
public:
    virtual ~Store() = default;
    virtual Writer& writer() = 0;
    virtual const Reader& reader() const = 0;
    /// Where it is (for messages and the UI): a file path for SQLite.
    virtual const std::string& location() const = 0;
    /// What it takes on disk in bytes, every file of it; -1 when not known. Any thread; a few stat calls.
    virtual std::int64_t disk_bytes() const = 0;
    /// Runs a retention pass (Options::retention_days) now instead of at its next period, after moving what
    /// is committed into its long-term layout; blocks until it ended. True when it finished (at once when
    /// retention is off); false when it could not (an outage, a lock not granted, the store stopping).
    virtual bool run_retention_now() = 0;
};

/// Opens (creating and migrating as needed) the store at `options.path` for writing and reading. Throws
/// StoreError naming the location when it cannot.
std::unique_ptr<Store> open_store(const Options& options);

/// Opens the store or capture at `location` for reading only; it never writes it (a SQLite file of an older
/// schema is read through a migrated temporary copy). Throws StoreError naming the location: missing, not a
/// FleetScope store, or made by a newer FleetScope.
std::unique_ptr<Reader> open_reader(const std::string& location);

/// Whether `location` names a database server (PostgreSQL) rather than a file.
bool is_shared_location(const std::string& location);

} // namespace fleetscope::store
