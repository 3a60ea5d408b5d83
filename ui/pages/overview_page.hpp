// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "ui/feed/snapshot_deriver.hpp"

#include <QWidget>

#include <vector>

namespace fleetscope::ui {

class KpiTile;
class LivePlot;
class TimeWindow;

/// The gateway at a glance: KPI tiles over a grid of live plots, fed with derived overview points.
/// GUI thread only.
class OverviewPage : public QWidget {
    Q_OBJECT
public:
    explicit OverviewPage(TimeWindow* window, QWidget* parent = nullptr);

    void addPoint(const OverviewPoint& point);
    /// The alerts tile: active alerts, of which unacknowledged, coloured by the highest unacknowledged
    /// severity (0 info, 1 warning, 2 critical; -1 none).
    void setAlertSummary(int active, int unacknowledged, int severity);
    KpiTile* alertsTile() const { return alerts_; }
    /// The MQTT tile: the broker link's state and messages committed per second.
    KpiTile* mqttTile() const { return mqtt_; }
    /// Scrolls and replots the plots that are on screen.
    void refreshPlots(double now_s);
    void clear();

    const std::vector<LivePlot*>& plots() const { return plots_; }

private:
    LivePlot* makePlot(const QString& objectName, const QString& title);
    void ensureWorkerSeries(std::size_t workers);

    TimeWindow* window_;
    std::vector<LivePlot*> plots_;
    KpiTile* connections_;
    KpiTile* requests_;
    KpiTile* samples_;
    KpiTile* latency_;
    KpiTile* listen_;
    KpiTile* fibers_;
    KpiTile* idle_;
    KpiTile* store_;
    KpiTile* memory_;
    KpiTile* alerts_;
    KpiTile* mqtt_;
    LivePlot* connections_plot_;
    LivePlot* requests_plot_;
    LivePlot* samples_plot_;
    LivePlot* ack_plot_;
    LivePlot* listen_plot_;
    LivePlot* ready_plot_;
    LivePlot* fibers_plot_;
    LivePlot* idle_plot_;
    LivePlot* store_plot_;
    LivePlot* commit_plot_;
    LivePlot* rss_plot_;
    LivePlot* fds_plot_;
    std::size_t worker_series_ = 0;
    std::size_t next_refresh_ = 0;
    static constexpr std::size_t kPlotsPerFrame = 2;
};

} // namespace fleetscope::ui
