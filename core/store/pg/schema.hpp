// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// The PostgreSQL schema and its history, private to core/store/pg. See schema.cpp for the tables.

#include <cstdint>
#include <string>

namespace fleetscope::store::pg {

class Connection;

/// The schema version this build writes and reads.
inline constexpr int kSchemaVersion = 1;

/// Session-level advisory lock keys (pg_advisory_lock): one namespace of bigints per database, so these are
/// FleetScope's own ("FlSc" and a number).
inline constexpr std::int64_t kMigrationLock = 0x466c5363'00000001;
inline constexpr std::int64_t kPartitionLock = 0x466c5363'00000002;

/// Brings the database to kSchemaVersion, one transaction per step, under kMigrationLock: gateways that start
/// together wait for the first to finish, then find nothing left to do. `by` (the gateway's name) is recorded
/// with each step. Throws PgError when the database is newer than this build or a step fails.
void migrate(Connection& c, const std::string& by);

/// The schema version found, without changing anything: 0 when FleetScope never ran on this database.
int schema_version(Connection& c);

} // namespace fleetscope::store::pg
