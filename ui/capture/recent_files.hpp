// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <QStringList>

class QSettings;

namespace fleetscope::ui {

/// The captures opened lately, newest first, kept in QSettings ("capture/recent"). GUI thread only.
class RecentFiles {
public:
    static constexpr int kMaxEntries = 10;

    explicit RecentFiles(QSettings& settings);

    QStringList entries() const;
    /// Moves `path` (made absolute) to the front, dropping the oldest beyond kMaxEntries.
    void add(const QString& path);
    void remove(const QString& path);
    /// Drops the entries whose file no longer exists; returns them, so the caller can say which.
    QStringList pruneMissing();
    void clear();

private:
    void store(const QStringList& entries);

    QSettings& settings_;
};

} // namespace fleetscope::ui
