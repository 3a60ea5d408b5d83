// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/pages/device_detail_page.hpp"

#include "core/util/clock.hpp"
#include "ui/plots/live_plot.hpp"
#include "ui/plots/time_window.hpp"

#include <QComboBox>
#include <QCompleter>
#include <QDateTime>
#include <QDateTimeEdit>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QPushButton>
#include <QScrollArea>
#include <QtConcurrent/QtConcurrentRun>

#include <algorithm>
#include <limits>
#include <map>

namespace fleetscope::ui {

namespace {

struct RangeOption {
    const char* label;
    double seconds; // 0: custom
};

constexpr RangeOption kRanges[] = {
    {QT_TRANSLATE_NOOP("DeviceDetailPage", "Last 5 min"), 300},
    {QT_TRANSLATE_NOOP("DeviceDetailPage", "Last 15 min"), 900},
    {QT_TRANSLATE_NOOP("DeviceDetailPage", "Last 1 h"), 3600},
    {QT_TRANSLATE_NOOP("DeviceDetailPage", "Last 6 h"), 6 * 3600},
    {QT_TRANSLATE_NOOP("DeviceDetailPage", "Last 24 h"), 24 * 3600},
    {QT_TRANSLATE_NOOP("DeviceDetailPage", "Custom range"), 0},
};

} // namespace

DeviceDetailPage::DeviceDetailPage(TimeWindow* window, QAbstractItemModel* devices, QWidget* parent)
    : QWidget(parent)
    , window_(window)
    , device_edit_(new QLineEdit(this))
    , range_(new QComboBox(this))
    , from_(new QDateTimeEdit(this))
    , to_(new QDateTimeEdit(this))
    , apply_(new QPushButton(tr("Load"), this))
    , status_(new QLabel(this))
    , placeholder_(
          new QLabel(tr("Pick a device: type its id above, or double-click it in the Devices table."), this))
{
    device_edit_->setObjectName(QStringLiteral("deviceEdit"));
    device_edit_->setPlaceholderText(tr("Device id"));
    device_edit_->setClearButtonEnabled(true);
    if (devices) {
        auto* completer = new QCompleter(devices, this);
        completer->setCompletionColumn(0);
        completer->setCaseSensitivity(Qt::CaseInsensitive);
        completer->setFilterMode(Qt::MatchContains);
        device_edit_->setCompleter(completer);
    }
    for (const RangeOption& r : kRanges)
        range_->addItem(tr(r.label), r.seconds);
    range_->setCurrentIndex(2);
    for (QDateTimeEdit* edit : {from_, to_}) {
        edit->setDisplayFormat(QStringLiteral("yyyy-MM-dd hh:mm:ss"));
        edit->setCalendarPopup(true);
        edit->setEnabled(false);
    }
    const QDateTime now = QDateTime::currentDateTime();
    from_->setDateTime(now.addSecs(-3600));
    to_->setDateTime(now);
    status_->setObjectName(QStringLiteral("mutedLabel"));
    placeholder_->setObjectName(QStringLiteral("mutedLabel"));
    placeholder_->setAlignment(Qt::AlignCenter);

    auto* bar = new QHBoxLayout;
    bar->addWidget(new QLabel(tr("Device"), this));
    bar->addWidget(device_edit_, 2);
    bar->addSpacing(12);
    bar->addWidget(new QLabel(tr("History"), this));
    bar->addWidget(range_);
    bar->addWidget(from_);
    bar->addWidget(new QLabel(QStringLiteral("–"), this));
    bar->addWidget(to_);
    bar->addWidget(apply_);
    bar->addStretch(1);

    auto* content = new QWidget;
    plots_layout_ = new QVBoxLayout(content);
    plots_layout_->setContentsMargins(0, 0, 0, 0);
    plots_layout_->setSpacing(8);
    plots_layout_->addWidget(placeholder_);
    plots_layout_->addStretch(1);
    auto* scroll = new QScrollArea(this);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    scroll->setWidget(content);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(10, 10, 10, 10);
    layout->addLayout(bar);
    layout->addWidget(status_);
    layout->addWidget(scroll, 1);

    connect(device_edit_, &QLineEdit::returnPressed, this,
            [this] { showDevice(device_edit_->text().trimmed()); });
    connect(device_edit_->completer(), qOverload<const QString&>(&QCompleter::activated), this,
            &DeviceDetailPage::showDevice);
    connect(range_, &QComboBox::currentIndexChanged, this, &DeviceDetailPage::rangeChanged);
    connect(apply_, &QPushButton::clicked, this, &DeviceDetailPage::loadHistory);
    connect(&watcher_, &QFutureWatcher<HistoryResult>::finished, this,
            [this] { applyHistory(watcher_.result(), watcher_.property("generation").toULongLong()); });
}

void DeviceDetailPage::setDatabasePath(const QString& path)
{
    if (path == db_path_)
        return;
    db_path_ = path;
    if (!device_.isEmpty())
        loadHistory();
}

void DeviceDetailPage::showDevice(const QString& device)
{
    if (device.isEmpty())
        return;
    device_ = device;
    device_edit_->setText(device);
    emit watchedDeviceChanged(device_);
    loadHistory();
}

void DeviceDetailPage::rangeChanged()
{
    const double seconds = range_->currentData().toDouble();
    const bool custom = seconds == 0;
    from_->setEnabled(custom);
    to_->setEnabled(custom);
    if (!custom)
        window_->setSeconds(seconds);
    if (!custom && !device_.isEmpty())
        loadHistory();
}

void DeviceDetailPage::clearPlots()
{
    for (LivePlot* plot : std::as_const(plots_))
        plot->deleteLater();
    plots_.clear();
    first_live_.clear();
    live_count_ = 0;
    placeholder_->setVisible(true);
}

LivePlot* DeviceDetailPage::ensurePlot(const QString& metric)
{
    if (LivePlot* plot = plots_.value(metric))
        return plot;
    auto* plot = new LivePlot(metric, window_, this);
    plot->setObjectName(QStringLiteral("metric-") + metric);
    plot->addSeries(metric, LivePlot::Axis::Left, static_cast<int>(plots_.size()));
    plot->setZeroBased(false);
    plot->setMinimumHeight(220);
    // Keep the plots in name order, before the trailing stretch.
    int position = 1;
    for (auto it = plots_.cbegin(); it != plots_.cend(); ++it)
        if (it.key() < metric)
            ++position;
    plots_layout_->insertWidget(position, plot);
    plots_.insert(metric, plot);
    placeholder_->setVisible(false);
    return plot;
}

void DeviceDetailPage::loadHistory()
{
    if (device_.isEmpty())
        return;
    clearPlots();
    ++generation_;
    const double seconds = range_->currentData().toDouble();
    const std::int64_t now = util::now_ms();
    HistoryRequest request;
    request.db_path = db_path_.toStdString();
    request.device = device_.toStdString();
    if (seconds > 0) {
        request.from_ms = now - static_cast<std::int64_t>(seconds * 1000);
        request.to_ms = std::numeric_limits<std::int64_t>::max();
    } else {
        request.from_ms = from_->dateTime().toMSecsSinceEpoch();
        request.to_ms = to_->dateTime().toMSecsSinceEpoch();
    }
    if (db_path_.isEmpty()) {
        status_->setText(history_note_.isEmpty() ? tr("Live only: the gateway has not opened a database yet")
                                                 : history_note_);
        return;
    }
    status_->setText(tr("Loading history of %1…").arg(device_));
    watcher_.setProperty("generation", generation_);
    watcher_.setFuture(QtConcurrent::run([request] { return readHistory(request); }));
}

void DeviceDetailPage::applyHistory(const HistoryResult& result, quint64 generation)
{
    if (generation != generation_)
        return; // the user moved on to another device or range while this was loading
    if (!result) {
        status_->setText(tr("History unavailable: %1").arg(QString::fromStdString(result.error())));
        emit historyLoaded(0);
        return;
    }
    const History& history = *result;
    std::map<QString, QVector<QCPGraphData>> byMetric;
    for (const store::SampleRow& row : history.rows) {
        const QString metric = QString::fromStdString(row.metric);
        const double t = static_cast<double>(row.ts) / 1000.0;
        // Samples from the moment the live tail began are already plotted from the feed.
        if (auto live = first_live_.constFind(metric); live != first_live_.cend() && t >= *live)
            continue;
        byMetric[metric].push_back(QCPGraphData(t, row.value));
    }
    for (auto& [metric, points] : byMetric)
        ensurePlot(metric)->merge(0, points);

    const double seconds = range_->currentData().toDouble();
    if (seconds == 0) {
        const double from = static_cast<double>(from_->dateTime().toMSecsSinceEpoch()) / 1000.0;
        const double to = static_cast<double>(to_->dateTime().toMSecsSinceEpoch()) / 1000.0;
        for (LivePlot* plot : std::as_const(plots_))
            plot->showRange(from, to);
    }
    const QLocale locale;
    QString text = tr("%1: %2 samples from the store in %3 ms, joined with the live tail")
                       .arg(device_, locale.toString(static_cast<qulonglong>(history.rows.size())),
                            locale.toString(history.elapsed_ms, 'f', 0));
    if (history.truncated)
        text += tr(" (the newest %1 only; narrow the range to see older samples)")
                    .arg(locale.toString(static_cast<qulonglong>(history.rows.size())));
    status_->setText(text);
    refreshPlots(window_->now());
    emit historyLoaded(history.rows.size());
}

void DeviceDetailPage::addLive(const std::vector<telemetry::Sample>& samples)
{
    for (const telemetry::Sample& s : samples) {
        const double t = static_cast<double>(s.ts_ms) / 1000.0;
        for (const telemetry::Metric& m : s.metrics) {
            const QString metric = QString::fromStdString(m.name);
            LivePlot* plot = ensurePlot(metric);
            if (!first_live_.contains(metric))
                first_live_.insert(metric, t);
            plot->append(0, t, m.value);
        }
        ++live_count_;
    }
}

void DeviceDetailPage::setHistoryNote(const QString& note)
{
    history_note_ = note;
    if (db_path_.isEmpty() && !device_.isEmpty())
        status_->setText(note);
}

void DeviceDetailPage::clearData()
{
    for (LivePlot* plot : std::as_const(plots_))
        plot->clearData();
    first_live_.clear();
    live_count_ = 0;
}

void DeviceDetailPage::refreshPlots(double now_s)
{
    for (LivePlot* plot : std::as_const(plots_))
        plot->refresh(now_s);
}

} // namespace fleetscope::ui
