// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "core/settings.hpp"

#include <QString>

class QSettings;

namespace fleetscope::ui {

/// Reads every gateway setting from `store` (group "gateway", one key per setting name); absent keys keep
/// the defaults of `base`. Driven by for_each_setting, so a new field needs no code here.
Settings loadSettings(QSettings& store, Settings base = {});
void saveSettings(QSettings& store, const Settings& settings);

/// One "name=value" line per setting, for comparisons and logs.
QStringList describeSettings(const Settings& settings);

} // namespace fleetscope::ui
