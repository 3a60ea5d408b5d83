// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/models/device_table_model.hpp"

#include "ui/plots/live_plot.hpp"
#include "ui/theme/theme.hpp"

#include <QDateTime>
#include <QLocale>

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

namespace fleetscope::ui {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

QString severityName(int severity)
{
    switch (severity) {
    case 0:
        return DeviceTableModel::tr("info");
    case 1:
        return DeviceTableModel::tr("warning");
    default:
        return DeviceTableModel::tr("critical");
    }
}

} // namespace

DeviceTableModel::DeviceTableModel(QObject* parent)
    : QAbstractTableModel(parent)
{}

QString DeviceTableModel::sourceName(telemetry::Source source)
{
    switch (source) {
    case telemetry::Source::http:
        return tr("HTTP");
    case telemetry::Source::line_protocol:
        return tr("line protocol");
    case telemetry::Source::mqtt:
        return tr("MQTT");
    }
    return {};
}

QString DeviceTableModel::relativeAge(std::int64_t ms)
{
    if (ms < 1000)
        return tr("just now");
    const std::int64_t s = ms / 1000;
    if (s < 60)
        return tr("%1 s ago").arg(s);
    if (s < 3600)
        return tr("%1 min %2 s ago").arg(s / 60).arg(s % 60);
    if (s < 86400)
        return tr("%1 h %2 min ago").arg(s / 3600).arg((s % 3600) / 60);
    return tr("%1 d %2 h ago").arg(s / 86400).arg((s % 86400) / 3600);
}

void DeviceTableModel::setStaleAfter(Millis staleAfter)
{
    stale_after_ = staleAfter;
    setNow(now_ms_);
}

DeviceTableModel::Status DeviceTableModel::statusOf(const Row& row) const
{
    if (now_ms_ - row.last_seen_ms > stale_after_.count())
        return row.seen_live ? Status::Stale : Status::Offline;
    return Status::Live;
}

double DeviceTableModel::rateOf(const Row& row) const
{
    // A quiet device shows 0 rather than its last rate forever. The rate changes only with an update or a
    // status change, both signalled, so a proxy sorted by rate stays in order without re-sorting every row
    // every second.
    if (row.status != Status::Live)
        return row.interval_ms > 0 ? 0.0 : kNaN;
    return row.interval_ms > 0 ? 1000.0 / row.interval_ms : kNaN;
}

void DeviceTableModel::emitRuns(std::vector<int>& rows, int firstColumn, int lastColumn)
{
    // Neighbouring rows go out as one signal; scattered ones as one signal per run, because a range
    // covering untouched rows would make a sorting proxy re-sort them all.
    std::sort(rows.begin(), rows.end());
    std::size_t start = 0;
    for (std::size_t i = 1; i <= rows.size(); ++i) {
        if (i == rows.size() || rows[i] != rows[i - 1] + 1) {
            emit dataChanged(index(rows[start], firstColumn), index(rows[i - 1], lastColumn));
            start = i;
        }
    }
}

int DeviceTableModel::metricColumn(const std::string& name)
{
    if (auto it = metric_index_.find(name); it != metric_index_.end())
        return it->second;
    if (metric_index_.size() >= kMaxMetricColumns)
        return -1;
    const int column = static_cast<int>(metric_index_.size());
    metric_index_.emplace(name, column);
    pending_metrics_.push_back(name);
    return column;
}

void DeviceTableModel::setStatus(Row& row, Status status)
{
    // The counts follow every change of status, so that no frame has to walk every row to recount them.
    auto counter = [this](Status s) -> std::size_t* {
        return s == Status::Live ? &live_count_ : s == Status::Stale ? &stale_count_ : nullptr;
    };
    if (std::size_t* c = counter(row.status))
        --*c;
    if (std::size_t* c = counter(status))
        ++*c;
    row.status = status;
}

void DeviceTableModel::announceCounts(std::size_t live, std::size_t stale)
{
    if (live != live_count_ || stale != stale_count_)
        emit countsChanged();
}

void DeviceTableModel::applyFrame(const std::vector<DeviceDelta>& devices, std::int64_t now_ms)
{
    now_ms_ = now_ms;
    changed_.clear();
    const std::size_t live = live_count_;
    const std::size_t stale = stale_count_;
    const int oldRows = static_cast<int>(rows_.size());
    const int oldColumns = columnCount();
    std::vector<Row> added;

    // Metric columns are resolved first, once per metric of each update, so that new rows and columns can
    // each be announced in one batch.
    columns_.clear();
    for (const DeviceDelta& d : devices)
        for (const telemetry::Metric& m : d.latest)
            columns_.push_back(metricColumn(m.name));
    if (!pending_metrics_.empty()) {
        beginInsertColumns({}, oldColumns, oldColumns + static_cast<int>(pending_metrics_.size()) - 1);
        for (const std::string& name : pending_metrics_)
            metrics_.push_back(QString::fromStdString(name));
        pending_metrics_.clear();
        endInsertColumns();
    }

    std::size_t next_column = 0;
    auto update = [&](Row& row, const DeviceDelta& d) {
        const std::int64_t arrived = d.arrived_ms > 0 ? d.arrived_ms : now_ms;
        if (row.seen_live && d.samples > 0) {
            const double inst = static_cast<double>(arrived - row.last_seen_ms) / d.samples;
            row.interval_ms = row.interval_ms <= 0 ? inst : 0.7 * row.interval_ms + 0.3 * inst;
        }
        row.seen_live = true;
        row.last_seen_ms = arrived;
        setStatus(row, statusOf(row));
        row.last_ts_ms = std::max(row.last_ts_ms, d.last_ts_ms);
        row.samples += d.samples;
        row.source = static_cast<int>(d.source);
        for (const telemetry::Metric& m : d.latest) {
            const int column = columns_[next_column++];
            if (column < 0)
                continue;
            if (row.values.size() <= static_cast<std::size_t>(column))
                row.values.resize(static_cast<std::size_t>(column) + 1, kNaN);
            row.values[static_cast<std::size_t>(column)] = m.value;
        }
    };

    for (const DeviceDelta& d : devices) {
        if (auto it = index_.find(d.device); it != index_.end()) {
            update(rows_[static_cast<std::size_t>(it->second)], d);
            changed_.push_back(it->second);
            continue;
        }
        Row row;
        row.id = QString::fromStdString(d.device);
        update(row, d);
        applyMark(row, d.device);
        index_.emplace(d.device, oldRows + static_cast<int>(added.size()));
        added.push_back(std::move(row));
    }

    if (!changed_.empty())
        emitRuns(changed_, ColStatus, columnCount() - 1);
    if (!added.empty()) {
        beginInsertRows({}, oldRows, oldRows + static_cast<int>(added.size()) - 1);
        std::move(added.begin(), added.end(), std::back_inserter(rows_));
        endInsertRows();
    }
    announceCounts(live, stale);
}

void DeviceTableModel::addKnownDevices(const std::vector<store::DeviceRow>& known)
{
    const std::size_t live = live_count_;
    const std::size_t stale = stale_count_;
    std::vector<Row> added;
    const int oldRows = static_cast<int>(rows_.size());
    for (const store::DeviceRow& k : known) {
        if (index_.count(k.device))
            continue;
        Row row;
        row.id = QString::fromStdString(k.device);
        row.last_seen_ms = k.last_seen;
        row.last_ts_ms = k.last_seen;
        row.samples = static_cast<std::uint64_t>(std::max<std::int64_t>(0, k.samples));
        setStatus(row, statusOf(row));
        applyMark(row, k.device);
        index_.emplace(k.device, oldRows + static_cast<int>(added.size()));
        added.push_back(std::move(row));
    }
    if (added.empty())
        return;
    beginInsertRows({}, oldRows, oldRows + static_cast<int>(added.size()) - 1);
    std::move(added.begin(), added.end(), std::back_inserter(rows_));
    endInsertRows();
    announceCounts(live, stale);
}

void DeviceTableModel::applyMark(Row& row, const std::string& device) const
{
    if (const auto it = alert_marks_.find(device); it != alert_marks_.end()) {
        row.alerts = it->second.count;
        row.alert_severity = it->second.severity;
    }
}

void DeviceTableModel::setDeviceAlerts(const QString& device, int count, int severity)
{
    const std::string id = device.toStdString();
    if (count > 0)
        alert_marks_[id] = AlertMark{count, severity};
    else
        alert_marks_.erase(id);
    const auto it = index_.find(id);
    if (it == index_.end())
        return;
    Row& row = rows_[static_cast<std::size_t>(it->second)];
    const int newSeverity = count > 0 ? severity : -1;
    if (row.alerts == count && row.alert_severity == newSeverity)
        return;
    row.alerts = count;
    row.alert_severity = newSeverity;
    emit dataChanged(index(it->second, ColDevice), index(it->second, ColAlerts));
}

void DeviceTableModel::clearDeviceAlerts()
{
    alert_marks_.clear();
    changed_.clear();
    for (std::size_t i = 0; i < rows_.size(); ++i) {
        if (rows_[i].alerts == 0)
            continue;
        rows_[i].alerts = 0;
        rows_[i].alert_severity = -1;
        changed_.push_back(static_cast<int>(i));
    }
    if (!changed_.empty())
        emitRuns(changed_, ColDevice, ColAlerts);
}

int DeviceTableModel::alertCountAt(int row) const
{
    return rows_.at(static_cast<std::size_t>(row)).alerts;
}

void DeviceTableModel::setGateway(const std::vector<DeviceDelta>& devices, const QString& gateway)
{
    changed_.clear();
    for (const DeviceDelta& d : devices) {
        const auto it = index_.find(d.device);
        if (it == index_.end())
            continue;
        Row& row = rows_[static_cast<std::size_t>(it->second)];
        if (row.gateway != gateway) {
            row.gateway = gateway;
            changed_.push_back(it->second);
        }
    }
    if (!changed_.empty()) {
        std::sort(changed_.begin(), changed_.end());
        emitRuns(changed_, ColGateway, ColGateway);
    }
}

void DeviceTableModel::setGateway(const QString& device, const QString& gateway)
{
    const auto it = index_.find(device.toStdString());
    if (it == index_.end() || rows_[static_cast<std::size_t>(it->second)].gateway == gateway)
        return;
    rows_[static_cast<std::size_t>(it->second)].gateway = gateway;
    emit dataChanged(index(it->second, ColGateway), index(it->second, ColGateway));
}

QString DeviceTableModel::gatewayAt(int row) const
{
    return rows_.at(static_cast<std::size_t>(row)).gateway;
}

void DeviceTableModel::setNow(std::int64_t now_ms)
{
    now_ms_ = now_ms;
    changed_.clear();
    const std::size_t live = live_count_;
    const std::size_t stale = stale_count_;
    for (std::size_t i = 0; i < rows_.size(); ++i) {
        Row& row = rows_[i];
        const Status status = statusOf(row);
        if (status != row.status) {
            setStatus(row, status);
            changed_.push_back(static_cast<int>(i));
        }
    }
    if (!changed_.empty())
        emitRuns(changed_, ColStatus, ColRate);
    announceCounts(live, stale);
    emit clockAdvanced();
}

void DeviceTableModel::clear()
{
    beginResetModel();
    rows_.clear();
    index_.clear();
    metrics_.clear();
    metric_index_.clear();
    const std::size_t live = std::exchange(live_count_, 0);
    const std::size_t stale = std::exchange(stale_count_, 0);
    endResetModel();
    announceCounts(live, stale);
}

int DeviceTableModel::rowOf(const QString& device) const
{
    const auto it = index_.find(device.toStdString());
    return it == index_.end() ? -1 : it->second;
}

QString DeviceTableModel::deviceAt(int row) const
{
    return rows_.at(static_cast<std::size_t>(row)).id;
}

DeviceTableModel::Status DeviceTableModel::statusAt(int row) const
{
    return rows_.at(static_cast<std::size_t>(row)).status;
}

QStringList DeviceTableModel::metricNames() const
{
    return QStringList(metrics_.begin(), metrics_.end());
}

int DeviceTableModel::rowCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : static_cast<int>(rows_.size());
}

int DeviceTableModel::columnCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : kFixedColumns + static_cast<int>(metrics_.size());
}

bool DeviceTableModel::lessThan(int leftRow, int rightRow, int column) const
{
    const Row& l = rows_[static_cast<std::size_t>(leftRow)];
    const Row& r = rows_[static_cast<std::size_t>(rightRow)];
    auto orderNaN = [](double a, double b) {
        // Missing values sort below every number, whichever direction.
        if (std::isnan(a))
            return !std::isnan(b);
        if (std::isnan(b))
            return false;
        return a < b;
    };
    switch (column) {
    case ColDevice:
        return l.id < r.id;
    case ColStatus:
        return static_cast<int>(l.status) < static_cast<int>(r.status);
    case ColGateway:
        return l.gateway < r.gateway;
    case ColAlerts:
        return l.alert_severity != r.alert_severity ? l.alert_severity < r.alert_severity
                                                    : l.alerts < r.alerts;
    case ColLastSeen:
        return l.last_seen_ms < r.last_seen_ms;
    case ColRate:
        return orderNaN(rateOf(l), rateOf(r));
    case ColSamples:
        return l.samples < r.samples;
    case ColSource:
        return l.source < r.source;
    default: {
        const auto m = static_cast<std::size_t>(column - kFixedColumns);
        const double a = m < l.values.size() ? l.values[m] : kNaN;
        const double b = m < r.values.size() ? r.values[m] : kNaN;
        return orderNaN(a, b);
    }
    }
}

QVariant DeviceTableModel::data(const QModelIndex& index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const Row& row = rows_[static_cast<std::size_t>(index.row())];
    const int column = index.column();
    const Status status = row.status;
    const auto metric = static_cast<std::size_t>(column - kFixedColumns);
    const double metricValue =
        column >= kFixedColumns && metric < row.values.size() ? row.values[metric] : kNaN;

    switch (role) {
    case Qt::DisplayRole:
        switch (column) {
        case ColDevice:
            return row.id;
        case ColStatus:
            return status == Status::Live    ? tr("live")
                   : status == Status::Stale ? tr("stale")
                                             : tr("offline");
        case ColGateway:
            return row.gateway;
        case ColAlerts:
            return row.alerts > 0 ? QStringLiteral("\u25B2 %1").arg(row.alerts) : QString();
        case ColLastSeen:
            return row.last_seen_ms > 0 ? relativeAge(std::max<std::int64_t>(0, now_ms_ - row.last_seen_ms))
                                        : QString();
        case ColRate: {
            const double rate = rateOf(row);
            return std::isnan(rate) ? QStringLiteral("–") : formatNumber(rate, 2);
        }
        case ColSamples:
            return QLocale().toString(static_cast<qulonglong>(row.samples));
        case ColSource:
            return row.source < 0 ? QString() : sourceName(static_cast<telemetry::Source>(row.source));
        default:
            return std::isnan(metricValue) ? QString() : formatNumber(metricValue, 3);
        }
    case SortRole:
        switch (column) {
        case ColDevice:
            return row.id;
        case ColStatus:
            return static_cast<int>(status);
        case ColGateway:
            return row.gateway;
        case ColAlerts:
            return row.alerts;
        case ColLastSeen:
            return static_cast<qlonglong>(row.last_seen_ms);
        case ColRate:
            return rateOf(row);
        case ColSamples:
            return static_cast<qulonglong>(row.samples);
        case ColSource:
            return row.source;
        default:
            return metricValue;
        }
    case StaleRole:
        return status != Status::Live;
    case AlertCountRole:
        return row.alerts;
    case Qt::TextAlignmentRole:
        return column <= ColAlerts || column == ColSource ? QVariant(Qt::AlignLeft | Qt::AlignVCenter)
                                                          : QVariant(Qt::AlignRight | Qt::AlignVCenter);
    case Qt::ForegroundRole: {
        const ThemeColors& c = Theme::instance().colors();
        if (column == ColAlerts)
            return row.alert_severity >= 2 ? c.bad : row.alert_severity == 1 ? c.warn : c.accent;
        if (column == ColStatus)
            return status == Status::Live ? c.ok : status == Status::Stale ? c.warn : c.muted;
        return status == Status::Live ? QVariant() : QVariant(c.muted);
    }
    case Qt::ToolTipRole:
        if (column == ColAlerts && row.alerts > 0)
            return tr("%n active alert(s), the highest %1", "", row.alerts)
                .arg(severityName(row.alert_severity));
        if (column == ColLastSeen || column == ColStatus) {
            const QString when = QDateTime::fromMSecsSinceEpoch(row.last_ts_ms).toString(Qt::ISODateWithMs);
            return status == Status::Live ? tr("Last sample stamped %1").arg(when)
                                          : tr("No sample for more than %1 s; last sample stamped %2")
                                                .arg(stale_after_.count() / 1000.0)
                                                .arg(when);
        }
        return {};
    default:
        return {};
    }
}

QVariant DeviceTableModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || section < 0 || section >= columnCount())
        return {};
    if (role == Qt::DisplayRole) {
        switch (section) {
        case ColDevice:
            return tr("Device");
        case ColStatus:
            return tr("Status");
        case ColGateway:
            return tr("Gateway");
        case ColAlerts:
            return tr("Alerts");
        case ColLastSeen:
            return tr("Last seen");
        case ColRate:
            return tr("Rate /s");
        case ColSamples:
            return tr("Samples");
        case ColSource:
            return tr("Source");
        default:
            return metrics_[static_cast<std::size_t>(section - kFixedColumns)];
        }
    }
    if (role == Qt::ToolTipRole) {
        switch (section) {
        case ColStatus:
            return tr("live: posted within the stale threshold; stale: posted this session, quiet since; "
                      "offline: known from the store only");
        case ColGateway:
            return tr("The gateway that holds the device's connection (monitor attached with --attach)");
        case ColAlerts:
            return tr("Active alerts on the device, coloured by the highest severity");
        case ColRate:
            return tr("Samples per second, smoothed");
        case ColSamples:
            return tr("Samples seen (from the store for earlier sessions, plus live ones)");
        case ColSource:
            return tr("How the device's last sample came: HTTP (JSON), line protocol (InfluxDB, Telegraf) "
                      "or MQTT (through the broker)");
        default:
            return section >= kFixedColumns
                       ? tr("Latest value of %1")
                             .arg(metrics_[static_cast<std::size_t>(section - kFixedColumns)])
                       : QVariant();
        }
    }
    if (role == Qt::TextAlignmentRole)
        return section <= ColAlerts || section == ColSource ? QVariant(Qt::AlignLeft | Qt::AlignVCenter)
                                                            : QVariant(Qt::AlignRight | Qt::AlignVCenter);
    return {};
}

DeviceFilterProxy::DeviceFilterProxy(QObject* parent)
    : QSortFilterProxyModel(parent)
{
    setDynamicSortFilter(true);
    setSortRole(DeviceTableModel::SortRole);
}

void DeviceFilterProxy::setSourceModel(QAbstractItemModel* source)
{
    QSortFilterProxyModel::setSourceModel(source);
    // QSortFilterProxyModel drops its sort column when the source inserts columns while the proxy holds no
    // rows (the first frame brings the first metric columns), and the table would then stay in arrival order.
    // This runs after the proxy's own handler, which was connected first.
    connect(source, &QAbstractItemModel::columnsInserted, this, [this] {
        if (sort_column_ >= 0 && sortColumn() != sort_column_)
            QSortFilterProxyModel::sort(sort_column_, sort_order_);
    });
}

void DeviceFilterProxy::sort(int column, Qt::SortOrder order)
{
    sort_column_ = column;
    sort_order_ = order;
    QSortFilterProxyModel::sort(column, order);
}

void DeviceFilterProxy::setFilterText(const QString& text)
{
    if (text == text_)
        return;
    text_ = text;
    invalidateFilter();
}

void DeviceFilterProxy::setStaleOnly(bool staleOnly)
{
    if (staleOnly == stale_only_)
        return;
    stale_only_ = staleOnly;
    invalidateFilter();
}

bool DeviceFilterProxy::filterAcceptsRow(int sourceRow, const QModelIndex&) const
{
    const auto* model = static_cast<const DeviceTableModel*>(sourceModel());
    if (stale_only_ && model->statusAt(sourceRow) == DeviceTableModel::Status::Live)
        return false;
    return text_.isEmpty() || model->deviceAt(sourceRow).contains(text_, Qt::CaseInsensitive);
}

bool DeviceFilterProxy::lessThan(const QModelIndex& left, const QModelIndex& right) const
{
    const auto* model = static_cast<const DeviceTableModel*>(sourceModel());
    return model->lessThan(left.row(), right.row(), left.column());
}

} // namespace fleetscope::ui
