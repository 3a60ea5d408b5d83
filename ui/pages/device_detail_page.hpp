// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "core/telemetry/sample.hpp"
#include "ui/feed/history_reader.hpp"

#include <QFutureWatcher>
#include <QHash>
#include <QWidget>

#include <vector>

class QAbstractItemModel;
class QComboBox;
class QDateTimeEdit;
class QLabel;
class QLineEdit;
class QPushButton;
class QVBoxLayout;

namespace fleetscope::ui {

class LivePlot;
class TimeWindow;

/// One device: a plot per metric, history read from SQLite on a worker thread (QtConcurrent, own read-only
/// connection) and joined behind the live tail without gap or overlap. GUI thread only; the history future
/// reports back through a QFutureWatcher owned here.
class DeviceDetailPage : public QWidget {
    Q_OBJECT
public:
    DeviceDetailPage(TimeWindow* window, QAbstractItemModel* devices, QWidget* parent = nullptr);

    /// Where history is read from; reloads the shown device's history when it changes.
    void setDatabasePath(const QString& path);
    QString device() const { return device_; }

    /// Live samples of the watched device, in commit order.
    void addLive(const std::vector<telemetry::Sample>& samples);
    void refreshPlots(double now_s);
    /// Drops the plotted points but keeps the device: a replay jumped back in time and feeds it again.
    void clearData();
    /// Shown instead of a history load while there is no database to read, e.g. while a capture replays.
    void setHistoryNote(const QString& note);

    LivePlot* plotFor(const QString& metric) const { return plots_.value(metric); }
    QList<LivePlot*> plots() const { return plots_.values(); }
    bool historyLoading() const { return watcher_.isRunning(); }

public slots:
    void showDevice(const QString& device);

signals:
    /// The feed should now keep every sample of this device (empty: none).
    void watchedDeviceChanged(const QString& device);
    void historyLoaded(std::size_t rows);

private:
    void loadHistory();
    void applyHistory(const HistoryResult& result, quint64 generation);
    void rangeChanged();
    LivePlot* ensurePlot(const QString& metric);
    void clearPlots();

    TimeWindow* window_;
    QString db_path_;
    QString device_;
    QString history_note_;
    QLineEdit* device_edit_;
    QComboBox* range_;
    QDateTimeEdit* from_;
    QDateTimeEdit* to_;
    QPushButton* apply_;
    QLabel* status_;
    QLabel* placeholder_;
    QVBoxLayout* plots_layout_;
    QHash<QString, LivePlot*> plots_;
    QHash<QString, double> first_live_; // per metric: time of the first live point, where history must end
    std::size_t live_count_ = 0;
    QFutureWatcher<HistoryResult> watcher_;
    quint64 generation_ = 0;
};

} // namespace fleetscope::ui
