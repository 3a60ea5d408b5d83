// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <QString>

class QWidget;

namespace fleetscope::ui {

/// Writes `widget` as it is drawn now, as PNG or PDF chosen by the suffix of `path`: PNG through
/// QWidget::grab, PDF rendered onto a page of the widget's own size. Returns an error naming the file, empty
/// on success. GUI thread only.
[[nodiscard]] QString exportWidget(QWidget* widget, const QString& path);

} // namespace fleetscope::ui
