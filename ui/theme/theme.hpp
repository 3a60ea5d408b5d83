// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <QColor>
#include <QObject>

#include <array>

class QCustomPlot;

namespace fleetscope::ui {

enum class ThemeKind { Dark, Light };

/// The colours of one theme; plots, tiles and the palette all read them so that nothing hard-codes a colour.
struct ThemeColors {
    QColor window, panel, base, text, muted, grid, axis, accent, ok, warn, bad;
    std::array<QColor, 8> series;
};

/// The application's current theme. GUI thread only: a process-wide singleton that widgets consult when they
/// paint and that tells them, through `changed`, to restyle.
class Theme : public QObject {
    Q_OBJECT
public:
    static Theme& instance();

    ThemeKind kind() const { return kind_; }
    const ThemeColors& colors() const;
    static const ThemeColors& colorsOf(ThemeKind kind);

    /// Sets the palette and style sheet of the application and tells every themed widget.
    void apply(ThemeKind kind);

    /// Applies the current theme to a QCustomPlot: background, axes, grid, legend and tick labels.
    void stylePlot(QCustomPlot* plot) const;

    static QString name(ThemeKind kind);
    static ThemeKind fromName(const QString& name);

signals:
    void changed(fleetscope::ui::ThemeKind kind);

private:
    Theme() = default;
    ThemeKind kind_ = ThemeKind::Dark;
};

} // namespace fleetscope::ui
