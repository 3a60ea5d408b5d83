// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/capture/recent_files.hpp"

#include <QFileInfo>
#include <QSettings>

namespace fleetscope::ui {

namespace {

const QString kKey = QStringLiteral("capture/recent");

} // namespace

RecentFiles::RecentFiles(QSettings& settings)
    : settings_(settings)
{}

QStringList RecentFiles::entries() const
{
    QStringList list = settings_.value(kKey).toStringList();
    list.removeAll(QString());
    return list.mid(0, kMaxEntries);
}

void RecentFiles::store(const QStringList& entries)
{
    if (entries.isEmpty())
        settings_.remove(kKey);
    else
        settings_.setValue(kKey, entries);
}

void RecentFiles::add(const QString& path)
{
    const QString absolute = QFileInfo(path).absoluteFilePath();
    QStringList list = entries();
    list.removeAll(absolute);
    list.prepend(absolute);
    store(list.mid(0, kMaxEntries));
}

void RecentFiles::remove(const QString& path)
{
    QStringList list = entries();
    list.removeAll(QFileInfo(path).absoluteFilePath());
    store(list);
}

QStringList RecentFiles::pruneMissing()
{
    QStringList kept;
    QStringList missing;
    for (const QString& path : entries())
        (QFileInfo::exists(path) ? kept : missing).push_back(path);
    if (!missing.isEmpty())
        store(kept);
    return missing;
}

void RecentFiles::clear()
{
    store({});
}

} // namespace fleetscope::ui
