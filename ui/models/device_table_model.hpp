// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "core/settings.hpp"
#include "core/store/store.hpp"
#include "ui/feed/live_feed.hpp"

#include <QAbstractTableModel>
#include <QSortFilterProxyModel>
#include <QString>

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace fleetscope::ui {

/// One row per device, built for 20,000+ devices: applies a whole frame of coalesced updates at once and
/// signals only the rows that changed. "Last seen" is relative and ages with setNow(). GUI thread only.
class DeviceTableModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column {
        ColDevice,
        ColStatus,
        ColGateway,
        ColAlerts,
        ColLastSeen,
        ColRate,
        ColSamples,
        ColSource,
        kFixedColumns
    };
    enum Role { SortRole = Qt::UserRole, StaleRole, AlertCountRole };
    enum class Status { Live, Stale, Offline };

    explicit DeviceTableModel(QObject* parent = nullptr);

    void setStaleAfter(Millis staleAfter);
    Millis staleAfter() const { return stale_after_; }

    /// Applies one frame of coalesced updates. `now_ms` is the arrival time of all of them.
    void applyFrame(const std::vector<DeviceDelta>& devices, std::int64_t now_ms);
    /// Adds devices recorded by earlier sessions (read from the store), shown "offline" until they post.
    void addKnownDevices(const std::vector<store::DeviceRow>& rows);
    /// Marks a device's row with its active alerts: how many, and the highest severity among them
    /// (0 info, 1 warning, 2 critical). A count of 0 clears the mark. A device without a row yet gets its
    /// mark when the row appears. Signals only that row, so a sorted proxy moves just it.
    void setDeviceAlerts(const QString& device, int count, int severity);
    void clearDeviceAlerts();
    int alertCountAt(int row) const;
    /// Which gateway holds each of these devices (the monitor attached to remote gateways, --attach): sets
    /// the Gateway column of their rows and signals only the rows that changed. Empty in embedded mode.
    void setGateway(const std::vector<DeviceDelta>& devices, const QString& gateway);
    void setGateway(const QString& device, const QString& gateway);
    QString gatewayAt(int row) const;
    /// Moves the clock that "last seen", the rate and the stale flag are relative to.
    void setNow(std::int64_t now_ms);
    void clear();

    int rowOf(const QString& device) const;
    QString deviceAt(int row) const;
    Status statusAt(int row) const;
    std::size_t liveCount() const { return live_count_; }
    std::size_t staleCount() const { return stale_count_; }
    std::size_t offlineCount() const { return rows_.size() - live_count_ - stale_count_; }
    QStringList metricNames() const;

    /// Orders two rows by a column without building QVariants: the proxy's sort calls this n·log n times.
    bool lessThan(int leftRow, int rightRow, int column) const;

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

    static constexpr int kMaxMetricColumns = 48;
    static QString relativeAge(std::int64_t ms);
    /// How a sample came: "HTTP", "line protocol" or "MQTT".
    static QString sourceName(telemetry::Source source);

signals:
    /// The live or stale count changed (the offline count also moves with rows inserted).
    void countsChanged();
    /// The clock moved: relative ages changed everywhere. Views repaint what they show; no row moved, so
    /// this is deliberately not a dataChanged over every row, which would make a proxy re-sort them all.
    void clockAdvanced();

private:
    struct Row {
        QString id;
        std::int64_t last_seen_ms = 0; // arrival time this session, or the store's last sample time
        std::int64_t last_ts_ms = 0;   // the device's own timestamp of its last sample
        std::uint64_t samples = 0;
        double interval_ms = 0; // smoothed time between samples; 0 until two arrived
        bool seen_live = false;
        Status status = Status::Offline; // as last announced, to signal only the rows that change state
        std::vector<double> values;      // by metric column; NaN when the device never sent that metric
        int alerts = 0;                  // active alerts on this device
        int alert_severity = -1;         // highest severity among them; -1 when none
        QString gateway;                 // the remote gateway that holds it (attached monitor); else empty
        int source = -1;                 // telemetry::Source of its last sample this session; -1: none yet
    };
    struct AlertMark {
        int count = 0;
        int severity = -1;
    };

    Status statusOf(const Row& row) const;
    double rateOf(const Row& row) const;
    int metricColumn(const std::string& name); // -1 beyond kMaxMetricColumns
    /// Sets a row's status and keeps the live and stale counts with it.
    void setStatus(Row& row, Status status);
    /// countsChanged, if the counts differ from these (taken before a change).
    void announceCounts(std::size_t live, std::size_t stale);
    void applyMark(Row& row, const std::string& device) const;
    void emitRuns(std::vector<int>& rows, int firstColumn, int lastColumn);

    std::vector<Row> rows_;
    std::unordered_map<std::string, int> index_;
    std::unordered_map<std::string, AlertMark> alert_marks_; // by device, also for devices without a row
    std::vector<QString> metrics_;
    std::unordered_map<std::string, int> metric_index_;
    std::vector<std::string> pending_metrics_;
    std::vector<int> changed_;
    std::vector<int> columns_; // applyFrame's metric columns, one per metric of each update, in order
    Millis stale_after_{60'000};
    std::int64_t now_ms_ = 0;
    std::size_t live_count_ = 0;
    std::size_t stale_count_ = 0;
};

/// Text filter (case-insensitive substring of the device id), optional "stale only", and sorting through
/// DeviceTableModel::lessThan. GUI thread only.
class DeviceFilterProxy : public QSortFilterProxyModel {
    Q_OBJECT
public:
    explicit DeviceFilterProxy(QObject* parent = nullptr);

    void setFilterText(const QString& text);
    void setStaleOnly(bool staleOnly);
    void sort(int column, Qt::SortOrder order = Qt::AscendingOrder) override;
    void setSourceModel(QAbstractItemModel* source) override;

protected:
    bool filterAcceptsRow(int sourceRow, const QModelIndex& sourceParent) const override;
    bool lessThan(const QModelIndex& left, const QModelIndex& right) const override;

private:
    QString text_;
    bool stale_only_ = false;
    int sort_column_ = -1; // as asked, which the proxy forgets when columns arrive while it holds no rows
    Qt::SortOrder sort_order_ = Qt::AscendingOrder;
};

} // namespace fleetscope::ui
