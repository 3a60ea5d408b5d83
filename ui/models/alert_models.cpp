// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/models/alert_models.hpp"

#include "core/util/clock.hpp"
#include "ui/models/device_table_model.hpp"
#include "ui/theme/theme.hpp"

#include <QDateTime>
#include <QLocale>
#include <QPainter>
#include <QPixmap>

#include <algorithm>
#include <array>

namespace fleetscope::ui {

namespace {

QString clockText(std::int64_t ms)
{
    const QDateTime when = QDateTime::fromMSecsSinceEpoch(ms);
    return when.date() == QDate::currentDate() ? when.toString(QStringLiteral("HH:mm:ss"))
                                               : when.toString(QStringLiteral("yyyy-MM-dd HH:mm:ss"));
}

QString durationText(std::int64_t ms)
{
    if (ms < 60'000)
        return AlertHistoryModel::tr("%1 s").arg(
            QLocale().toString(static_cast<double>(ms) / 1000.0, 'f', 1));
    const std::int64_t s = ms / 1000;
    if (s < 3600)
        return AlertHistoryModel::tr("%1 min %2 s").arg(s / 60).arg(s % 60);
    return AlertHistoryModel::tr("%1 h %2 min").arg(s / 3600).arg((s % 3600) / 60);
}

QString eventText(alerts::AlertEvent::Kind kind)
{
    switch (kind) {
    case alerts::AlertEvent::Kind::raised:
        return AlertHistoryModel::tr("raised");
    case alerts::AlertEvent::Kind::cleared:
        return AlertHistoryModel::tr("cleared");
    case alerts::AlertEvent::Kind::acked:
        return AlertHistoryModel::tr("acknowledged");
    }
    return {};
}

QString str(const std::string& s)
{
    return QString::fromStdString(s);
}

} // namespace

QColor severityColor(alerts::Severity severity)
{
    const ThemeColors& c = Theme::instance().colors();
    switch (severity) {
    case alerts::Severity::info:
        return c.accent;
    case alerts::Severity::warning:
        return c.warn;
    case alerts::Severity::critical:
        return c.bad;
    }
    return c.muted;
}

QString severityText(alerts::Severity severity)
{
    switch (severity) {
    case alerts::Severity::info:
        return ActiveAlertsModel::tr("info");
    case alerts::Severity::warning:
        return ActiveAlertsModel::tr("warning");
    case alerts::Severity::critical:
        return ActiveAlertsModel::tr("critical");
    }
    return {};
}

QIcon severityIcon(alerts::Severity severity)
{
    // Painted once per theme and severity: data() asks for it for every visible row on every repaint.
    static std::array<QIcon, 6> cache;
    const std::size_t slot =
        static_cast<std::size_t>(severity) + (Theme::instance().kind() == ThemeKind::Light ? 3 : 0);
    if (cache[slot].isNull()) {
        QPixmap pixmap(28, 28);
        pixmap.setDevicePixelRatio(2.0);
        pixmap.fill(Qt::transparent);
        QPainter p(&pixmap);
        p.setRenderHint(QPainter::Antialiasing);
        p.setPen(Qt::NoPen);
        p.setBrush(severityColor(severity));
        if (severity == alerts::Severity::critical) {
            // A shape as well as a colour, so that the severity reads without colour vision.
            const QPointF tri[] = {{7, 1.5}, {13, 12.5}, {1, 12.5}};
            p.drawPolygon(tri, 3);
        } else if (severity == alerts::Severity::warning) {
            p.drawRoundedRect(QRectF(2, 2, 10, 10), 1.5, 1.5);
        } else {
            p.drawEllipse(QRectF(2, 2, 10, 10));
        }
        p.end();
        cache[slot] = QIcon(pixmap);
    }
    return cache[slot];
}

ActiveAlertsModel::ActiveAlertsModel(QObject* parent)
    : QAbstractTableModel(parent)
    , now_ms_(util::now_ms())
{}

void ActiveAlertsModel::reindex(std::size_t from)
{
    for (std::size_t i = from; i < rows_.size(); ++i)
        index_[rows_[i].id] = static_cast<int>(i);
}

void ActiveAlertsModel::reset(std::vector<alerts::Alert> active)
{
    beginResetModel();
    rows_ = std::move(active);
    std::erase_if(rows_, [](const alerts::Alert& a) { return !a.active; });
    index_.clear();
    reindex(0);
    endResetModel();
}

void ActiveAlertsModel::apply(std::span<const alerts::AlertEvent> events)
{
    using Kind = alerts::AlertEvent::Kind;
    const auto structural = static_cast<std::size_t>(std::count_if(
        events.begin(), events.end(), [](const alerts::AlertEvent& e) { return e.kind != Kind::acked; }));
    const bool flood = structural > kResetThreshold;
    if (flood)
        beginResetModel();

    for (const alerts::AlertEvent& e : events) {
        const auto it = index_.find(e.alert.id);
        const bool known = it != index_.end();
        const bool stays = e.kind != Kind::cleared && e.alert.active;
        if (known && stays) {
            // A raise already known (the start-up list and the feed overlap) or an acknowledgement: update.
            rows_[static_cast<std::size_t>(it->second)] = e.alert;
            if (!flood)
                emit dataChanged(index(it->second, 0), index(it->second, kColumns - 1));
        } else if (known) {
            const int row = it->second;
            index_.erase(it);
            if (flood) {
                rows_[static_cast<std::size_t>(row)].active = false; // erased below, in one pass
                continue;
            }
            beginRemoveRows({}, row, row);
            rows_.erase(rows_.begin() + row);
            reindex(static_cast<std::size_t>(row));
            endRemoveRows();
        } else if (stays) {
            const int row = static_cast<int>(rows_.size());
            if (!flood)
                beginInsertRows({}, row, row);
            rows_.push_back(e.alert);
            index_[e.alert.id] = row;
            if (!flood)
                endInsertRows();
        }
    }

    if (flood) {
        std::erase_if(rows_, [](const alerts::Alert& a) { return !a.active; });
        index_.clear();
        reindex(0);
        endResetModel();
    }
}

void ActiveAlertsModel::setNow(std::int64_t now_ms)
{
    now_ms_ = now_ms;
    if (!rows_.empty())
        emit dataChanged(index(0, ColSince), index(rowCount() - 1, ColSince), {Qt::DisplayRole});
}

int ActiveAlertsModel::rowOfId(std::int64_t id) const
{
    const auto it = index_.find(id);
    return it == index_.end() ? -1 : it->second;
}

int ActiveAlertsModel::unacknowledged() const
{
    return static_cast<int>(
        std::count_if(rows_.begin(), rows_.end(), [](const alerts::Alert& a) { return !a.acked_at; }));
}

int ActiveAlertsModel::highestUnacknowledged() const
{
    int highest = -1;
    for (const alerts::Alert& a : rows_)
        if (!a.acked_at)
            highest = std::max(highest, static_cast<int>(a.severity));
    return highest;
}

int ActiveAlertsModel::rowCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : static_cast<int>(rows_.size());
}

int ActiveAlertsModel::columnCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : kColumns;
}

QVariant ActiveAlertsModel::data(const QModelIndex& index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const alerts::Alert& a = rows_[static_cast<std::size_t>(index.row())];
    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case ColSeverity:
            return severityText(a.severity);
        case ColRule:
            return str(a.rule);
        case ColSubject:
            return str(a.subject);
        case ColSince:
            return tr("%1 · %2").arg(
                clockText(a.raised_at),
                DeviceTableModel::relativeAge(std::max<std::int64_t>(0, now_ms_ - a.raised_at)));
        case ColMessage:
            return str(a.message);
        case ColAcked:
            return a.acked_at ? tr("acknowledged %1").arg(clockText(*a.acked_at)) : tr("no");
        }
        return {};
    case SortRole:
        switch (index.column()) {
        case ColSeverity:
            return static_cast<int>(a.severity);
        case ColSince:
            return static_cast<qlonglong>(a.raised_at);
        case ColAcked:
            return static_cast<qlonglong>(a.acked_at.value_or(0));
        default:
            return data(index, Qt::DisplayRole);
        }
    case IdRole:
        return static_cast<qlonglong>(a.id);
    case Qt::DecorationRole:
        return index.column() == ColSeverity ? QVariant(severityIcon(a.severity)) : QVariant();
    case Qt::ForegroundRole:
        if (index.column() == ColSeverity)
            return severityColor(a.severity);
        if (index.column() == ColAcked && a.acked_at)
            return Theme::instance().colors().muted;
        return {};
    case Qt::ToolTipRole:
        return index.column() == ColMessage || index.column() == ColSince
                   ? QVariant(
                         tr("Raised %1 by rule %2 on %3: %4")
                             .arg(QDateTime::fromMSecsSinceEpoch(a.raised_at).toString(Qt::ISODateWithMs),
                                  str(a.rule), str(a.subject), str(a.message)))
                   : QVariant();
    default:
        return {};
    }
}

QVariant ActiveAlertsModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case ColSeverity:
        return tr("Severity");
    case ColRule:
        return tr("Rule");
    case ColSubject:
        return tr("Subject");
    case ColSince:
        return tr("Since");
    case ColMessage:
        return tr("Message");
    case ColAcked:
        return tr("Acknowledged");
    }
    return {};
}

AlertHistoryModel::AlertHistoryModel(std::size_t capacity, QObject* parent)
    : QAbstractTableModel(parent)
    , capacity_(std::max<std::size_t>(capacity, 1))
{}

std::int64_t AlertHistoryModel::timeOf(const alerts::AlertEvent& e)
{
    switch (e.kind) {
    case alerts::AlertEvent::Kind::raised:
        return e.alert.raised_at;
    case alerts::AlertEvent::Kind::cleared:
        return e.alert.cleared_at.value_or(e.alert.raised_at);
    case alerts::AlertEvent::Kind::acked:
        return e.alert.acked_at.value_or(e.alert.raised_at);
    }
    return e.alert.raised_at;
}

void AlertHistoryModel::append(std::span<const alerts::AlertEvent> events)
{
    if (events.empty())
        return;
    // Only the newest `capacity` of this batch can survive; the rest are never inserted.
    const std::span<const alerts::AlertEvent> kept =
        events.size() > capacity_ ? events.last(capacity_) : events;
    const std::size_t overflow =
        rows_.size() + kept.size() > capacity_ ? rows_.size() + kept.size() - capacity_ : 0;
    if (overflow > 0) {
        beginRemoveRows({}, 0, static_cast<int>(overflow) - 1);
        rows_.erase(rows_.begin(), rows_.begin() + static_cast<std::ptrdiff_t>(overflow));
        endRemoveRows();
    }
    const int first = static_cast<int>(rows_.size());
    beginInsertRows({}, first, first + static_cast<int>(kept.size()) - 1);
    rows_.insert(rows_.end(), kept.begin(), kept.end());
    endInsertRows();
}

void AlertHistoryModel::clear()
{
    beginResetModel();
    rows_.clear();
    endResetModel();
}

int AlertHistoryModel::rowCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : static_cast<int>(rows_.size());
}

int AlertHistoryModel::columnCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : kColumns;
}

QVariant AlertHistoryModel::data(const QModelIndex& index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const alerts::AlertEvent& e = rows_[static_cast<std::size_t>(index.row())];
    const alerts::Alert& a = e.alert;
    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case ColTime:
            return QDateTime::fromMSecsSinceEpoch(timeOf(e)).toString(QStringLiteral("HH:mm:ss.zzz"));
        case ColEvent:
            return eventText(e.kind);
        case ColSeverity:
            return severityText(a.severity);
        case ColRule:
            return str(a.rule);
        case ColSubject:
            return str(a.subject);
        case ColMessage:
            // A clear says how long the alert lasted; the message is what raised it.
            return e.kind == alerts::AlertEvent::Kind::cleared && a.cleared_at
                       ? tr("after %1 · %2").arg(durationText(*a.cleared_at - a.raised_at), str(a.message))
                       : str(a.message);
        }
        return {};
    case SortRole:
        switch (index.column()) {
        case ColTime:
            return static_cast<qlonglong>(timeOf(e));
        case ColSeverity:
            return static_cast<int>(a.severity);
        default:
            return data(index, Qt::DisplayRole);
        }
    case KindRole:
        return static_cast<int>(e.kind);
    case Qt::DecorationRole:
        return index.column() == ColSeverity ? QVariant(severityIcon(a.severity)) : QVariant();
    case Qt::ForegroundRole: {
        const ThemeColors& c = Theme::instance().colors();
        if (index.column() == ColEvent)
            return e.kind == alerts::AlertEvent::Kind::raised    ? severityColor(a.severity)
                   : e.kind == alerts::AlertEvent::Kind::cleared ? c.ok
                                                                 : c.muted;
        return {};
    }
    case Qt::ToolTipRole:
        return index.column() == ColTime
                   ? QVariant(QDateTime::fromMSecsSinceEpoch(timeOf(e)).toString(Qt::ISODateWithMs))
               : index.column() == ColMessage ? data(index, Qt::DisplayRole)
                                              : QVariant();
    default:
        return {};
    }
}

QVariant AlertHistoryModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case ColTime:
        return tr("Time");
    case ColEvent:
        return tr("Event");
    case ColSeverity:
        return tr("Severity");
    case ColRule:
        return tr("Rule");
    case ColSubject:
        return tr("Subject");
    case ColMessage:
        return tr("Message");
    }
    return {};
}

AlertHistoryProxy::AlertHistoryProxy(QObject* parent)
    : QSortFilterProxyModel(parent)
{
    setDynamicSortFilter(true);
    setSortRole(AlertHistoryModel::SortRole);
}

void AlertHistoryProxy::setFilterText(const QString& text)
{
    if (text == text_)
        return;
    text_ = text;
    invalidateFilter();
}

void AlertHistoryProxy::setKindFilter(int kind)
{
    if (kind == kind_)
        return;
    kind_ = kind;
    invalidateFilter();
}

bool AlertHistoryProxy::filterAcceptsRow(int sourceRow, const QModelIndex&) const
{
    const auto* model = static_cast<const AlertHistoryModel*>(sourceModel());
    const alerts::AlertEvent& e = model->eventAt(sourceRow);
    if (kind_ >= 0 && static_cast<int>(e.kind) != kind_)
        return false;
    if (text_.isEmpty())
        return true;
    for (const std::string* field : {&e.alert.rule, &e.alert.subject, &e.alert.message})
        if (QString::fromStdString(*field).contains(text_, Qt::CaseInsensitive))
            return true;
    return false;
}

} // namespace fleetscope::ui
