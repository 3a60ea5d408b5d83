// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <QColor>
#include <QIcon>

namespace fleetscope::ui {

enum class IconKind { Start, Stop, Pause, ResetView, ExportPlot, ExportView, Settings, Theme, Help };

/// Toolbar icons painted in the theme's text colour, so they stay legible in both themes without shipping a
/// second set of bitmaps (this Qt has no SVG plugin). Pure function of its arguments; GUI thread (QPixmap).
QIcon makeIcon(IconKind kind, const QColor& color);

} // namespace fleetscope::ui
