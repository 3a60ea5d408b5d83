// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <QString>
#include <QVector>
#include <qcustomplot.h>

namespace fleetscope::ui {

class TimeWindow;

/// A time-series plot that follows the shared rolling window: mouse zoom and pan (which leave follow mode
/// until reset), a crosshair with the exact values of the nearest points, a "not available" overlay and
/// PNG/PDF export. GUI thread only. Appends are cheap (sorted appends into QCustomPlot's container); drawing
/// happens in refresh(), which replots only when the plot is on screen and a replot is due.
class LivePlot : public QCustomPlot {
    Q_OBJECT
public:
    enum class Axis { Left, Right };

    LivePlot(const QString& title, TimeWindow* window, QWidget* parent = nullptr);

    QString title() const { return title_; }

    /// Adds a line; returns its index. `colorIndex` picks a series colour (-1: the next one).
    int addSeries(const QString& name, Axis axis = Axis::Left, int colorIndex = -1);
    int seriesCount() const { return graphCount(); }
    QString seriesName(int series) const;
    int seriesIndex(const QString& name) const; // -1 when absent

    /// Appends one point; `t` (seconds since epoch) must not precede the series' last point.
    void append(int series, double t, double value);
    /// Merges points (sorted by key) into a series, e.g. history read from the store behind a live tail.
    void merge(int series, const QVector<QCPGraphData>& sortedPoints);
    /// Drops every point of every series.
    void clearData();

    void setAxisLabels(const QString& left, const QString& right = {});
    /// Non-empty: hide the lines and show `reason` centred (e.g. "not available on this OS").
    void setUnavailable(const QString& reason);
    bool unavailable() const { return !unavailable_reason_.isEmpty(); }
    /// Keeps 0 inside the value range: right for counts and rates, wrong for temperatures.
    void setZeroBased(bool zeroBased) { zero_based_ = zeroBased; }
    void setRetentionSeconds(double seconds) { retention_s_ = seconds; }

    /// Trims data older than the retention, scrolls to the window and replots when on screen and due (or
    /// `force`): at most every kMinReplotIntervalMs, and only for new data or once the followed window has
    /// moved by a pixel. Returns whether it replotted.
    bool refresh(double now_s, bool force = false);

    /// Back to following the live window with automatic value ranges.
    void resetView();
    /// Shows a fixed key range, leaving follow mode (used by the device history range picker).
    void showRange(double from_s, double to_s);
    bool following() const { return following_; }

    /// Writes the plot as PNG or PDF, chosen by the file suffix. Returns an error message, empty on success.
    [[nodiscard]] QString exportTo(const QString& path);

    /// The crosshair readout (time and the nearest value of each series), empty while hidden.
    QString crosshairText() const;

    /// The plot the user last hovered or clicked, for "export plot" in the main window; may be null.
    static LivePlot* lastActive();

    static constexpr qint64 kMinReplotIntervalMs = 150;

signals:
    void activated(fleetscope::ui::LivePlot* plot);

protected:
    void mouseMoveEvent(QMouseEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    void mouseDoubleClickEvent(QMouseEvent* event) override;
    void wheelEvent(QWheelEvent* event) override;
    void leaveEvent(QEvent* event) override;
    void contextMenuEvent(QContextMenuEvent* event) override;
    void showEvent(QShowEvent* event) override;

private:
    void applyTheme();
    void setLegendShown(bool shown);
    void updateTicker();
    void rescaleValues();
    void updateCrosshair();
    bool onScreen() const;

    QString title_;
    TimeWindow* window_;
    QCPTextElement* title_element_ = nullptr;
    QCPItemStraightLine* cross_ = nullptr;
    QCPItemText* readout_ = nullptr;
    QCPItemText* overlay_ = nullptr;
    QVector<QCPItemTracer*> tracers_;
    QString unavailable_reason_;
    double retention_s_;
    double ticker_window_ = -1;
    double last_now_ = 0;
    double last_right_ = 0; // the followed window's right edge at the last replot
    qint64 last_replot_ms_ = 0;
    int mouse_x_ = -1;
    int next_color_ = 0;
    bool following_ = true;
    bool zero_based_ = true;
    bool dirty_ = true;
    bool programmatic_range_ = false;
};

/// Formats a value for tiles and readouts: grouped thousands, at most 3 decimals, no trailing zeros.
QString formatNumber(double value, int maxDecimals = 2);
/// Formats a duration as hh:mm:ss (hours unbounded; negative durations as zero).
QString formatElapsed(qint64 ms);

} // namespace fleetscope::ui
