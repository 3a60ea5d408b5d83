// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "core/alerts/alerts.hpp"

#include <QAbstractTableModel>
#include <QIcon>
#include <QSortFilterProxyModel>

#include <cstdint>
#include <deque>
#include <span>
#include <unordered_map>
#include <vector>

namespace fleetscope::ui {

/// A filled disc in the theme's colour for the severity (info: accent, warning: amber, critical: red).
QIcon severityIcon(alerts::Severity severity);
QColor severityColor(alerts::Severity severity);
QString severityText(alerts::Severity severity);

/// The active alerts, one row each, in the order they were raised. Applies a whole frame of events at once:
/// a few row signals for a small batch, one reset for a flood (15,000 devices going stale together), so
/// neither costs more than linear time. GUI thread only.
class ActiveAlertsModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { ColSeverity, ColRule, ColSubject, ColSince, ColAcked, ColMessage, kColumns };
    enum Role { SortRole = Qt::UserRole, IdRole };

    explicit ActiveAlertsModel(QObject* parent = nullptr);

    void reset(std::vector<alerts::Alert> active);
    void apply(std::span<const alerts::AlertEvent> events);
    /// Moves the clock that "since" ages are relative to; repaints that column only.
    void setNow(std::int64_t now_ms);

    const alerts::Alert& alertAt(int row) const { return rows_.at(static_cast<std::size_t>(row)); }
    int rowOfId(std::int64_t id) const;
    int unacknowledged() const;
    /// The highest severity among the unacknowledged alerts; -1 when every alert is acknowledged.
    int highestUnacknowledged() const;

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

    /// Beyond this many structural changes in one batch, the model resets instead of signalling rows.
    static constexpr std::size_t kResetThreshold = 64;

private:
    void reindex(std::size_t from);

    std::vector<alerts::Alert> rows_;
    std::unordered_map<std::int64_t, int> index_;
    std::int64_t now_ms_ = 0;
};

/// One row per alert event (raised, cleared, acknowledged), oldest first, holding at most `capacity` events
/// (the oldest go first). GUI thread only.
class AlertHistoryModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { ColTime, ColEvent, ColSeverity, ColRule, ColSubject, ColMessage, kColumns };
    enum Role { SortRole = Qt::UserRole, KindRole };

    explicit AlertHistoryModel(std::size_t capacity, QObject* parent = nullptr);

    void append(std::span<const alerts::AlertEvent> events);
    void clear();
    std::size_t capacity() const { return capacity_; }
    const alerts::AlertEvent& eventAt(int row) const { return rows_.at(static_cast<std::size_t>(row)); }
    /// The time of an event: when it was raised, cleared or acknowledged.
    static std::int64_t timeOf(const alerts::AlertEvent& e);

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    std::deque<alerts::AlertEvent> rows_;
    std::size_t capacity_;
};

/// Filters the history by event kind and by text (a case-insensitive substring of the rule, the subject or
/// the message), and sorts by SortRole. GUI thread only.
class AlertHistoryProxy : public QSortFilterProxyModel {
    Q_OBJECT
public:
    explicit AlertHistoryProxy(QObject* parent = nullptr);

    void setFilterText(const QString& text);
    /// -1: every kind; else an AlertEvent::Kind.
    void setKindFilter(int kind);

protected:
    bool filterAcceptsRow(int sourceRow, const QModelIndex& sourceParent) const override;

private:
    QString text_;
    int kind_ = -1;
};

} // namespace fleetscope::ui
