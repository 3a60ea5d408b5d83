// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "core/settings.hpp"

#include <QString>
#include <QTemporaryDir>

namespace fleetscope::testing {

/// A gateway for a test: on 127.0.0.1 at a port the OS picks, its database `db` in `dir`, two workers with a
/// small fiber stack cache; every other setting its default, so the shipped limits are what a test meets.
inline Settings loopback_settings(const QTemporaryDir& dir, const char* db, unsigned workers = 2)
{
    Settings s;
    s.listen = "127.0.0.1:0";
    s.db_path = dir.filePath(QString::fromLatin1(db)).toStdString();
    s.workers = workers;
    s.stack_cache_per_worker = 16;
    return s;
}

} // namespace fleetscope::testing
