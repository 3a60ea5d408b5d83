// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/dialogs/settings_io.hpp"

#include <QSettings>
#include <QStringList>

#include <type_traits>

namespace fleetscope::ui {

namespace {

const QString kGroup = QStringLiteral("gateway");

template <class T>
QVariant toVariant(const T& field)
{
    if constexpr (std::is_same_v<T, std::string>)
        return QString::fromStdString(field);
    else if constexpr (std::is_same_v<T, Millis>)
        return static_cast<qlonglong>(field.count());
    else if constexpr (std::is_signed_v<T>)
        return static_cast<qlonglong>(field);
    else
        return static_cast<qulonglong>(field);
}

template <class T>
void fromVariant(const QVariant& v, T& field)
{
    bool ok = true;
    if constexpr (std::is_same_v<T, std::string>) {
        field = v.toString().toStdString();
    } else if constexpr (std::is_same_v<T, Millis>) {
        const qlonglong n = v.toLongLong(&ok);
        if (ok)
            field = Millis(n);
    } else if constexpr (std::is_signed_v<T>) {
        const qlonglong n = v.toLongLong(&ok);
        if (ok)
            field = static_cast<T>(n);
    } else {
        const qulonglong n = v.toULongLong(&ok);
        if (ok)
            field = static_cast<T>(n);
    }
}

} // namespace

Settings loadSettings(QSettings& store, Settings base)
{
    store.beginGroup(kGroup);
    for_each_setting(base, [&](const SettingInfo& info, auto& field) {
        const QString key = QString::fromLatin1(info.name.data(), static_cast<qsizetype>(info.name.size()));
        if (store.contains(key))
            fromVariant(store.value(key), field);
    });
    store.endGroup();
    return base;
}

void saveSettings(QSettings& store, const Settings& settings)
{
    Settings copy = settings;
    store.beginGroup(kGroup);
    for_each_setting(copy, [&](const SettingInfo& info, auto& field) {
        store.setValue(QString::fromLatin1(info.name.data(), static_cast<qsizetype>(info.name.size())),
                       toVariant(field));
    });
    store.endGroup();
}

QStringList describeSettings(const Settings& settings)
{
    Settings copy = settings;
    QStringList lines;
    for_each_setting(copy, [&](const SettingInfo& info, auto& field) {
        lines << QStringLiteral("%1=%2").arg(
            QString::fromLatin1(info.name.data(), static_cast<qsizetype>(info.name.size())),
            toVariant(field).toString());
    });
    return lines;
}

} // namespace fleetscope::ui
