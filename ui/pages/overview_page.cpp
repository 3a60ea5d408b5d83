// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/pages/overview_page.hpp"

#include "ui/pages/kpi_tile.hpp"
#include "ui/plots/live_plot.hpp"

#include <QGridLayout>
#include <QHBoxLayout>
#include <QScrollArea>
#include <QVBoxLayout>

#include <cmath>
#include <numeric>

namespace fleetscope::ui {

namespace {

QString ms(double v)
{
    return formatNumber(v, v < 10 ? 2 : 1) + QStringLiteral(" ms");
}

} // namespace

OverviewPage::OverviewPage(TimeWindow* window, QWidget* parent)
    : QWidget(parent)
    , window_(window)
{
    auto* tiles = new QHBoxLayout;
    tiles->setSpacing(8);
    auto tile = [&](const QString& caption) {
        auto* t = new KpiTile(caption, this);
        tiles->addWidget(t);
        return t;
    };
    connections_ = tile(tr("Connections"));
    requests_ = tile(tr("Requests/s"));
    samples_ = tile(tr("Samples/s"));
    latency_ = tile(tr("Ack p99"));
    listen_ = tile(tr("Listen queue"));
    fibers_ = tile(tr("Fibers"));
    idle_ = tile(tr("Workers idle"));
    store_ = tile(tr("Store queue"));
    memory_ = tile(tr("Memory"));
    alerts_ = tile(tr("Alerts"));
    alerts_->setValue(QStringLiteral("0"), tr("none active"));
    mqtt_ = tile(tr("MQTT"));
    mqtt_->setValue(tr("off"), tr("no mqtt-broker"), KpiTile::Level::Unavailable);

    auto* grid = new QGridLayout;
    grid->setSpacing(8);
    connections_plot_ = makePlot(QStringLiteral("plot-connections"), tr("Connections"));
    connections_plot_->addSeries(tr("open"));
    connections_plot_->addSeries(tr("accepts/s"), LivePlot::Axis::Right);
    requests_plot_ = makePlot(QStringLiteral("plot-requests"), tr("Requests/s by status class"));
    for (int c = 1; c <= 5; ++c)
        requests_plot_->addSeries(QStringLiteral("%1xx").arg(c), LivePlot::Axis::Left,
                                  c == 2   ? 2
                                  : c == 5 ? 3
                                  : c == 4 ? 1
                                           : c + 3);
    samples_plot_ = makePlot(QStringLiteral("plot-samples"), tr("Samples committed/s"));
    samples_plot_->addSeries(tr("samples/s"));
    ack_plot_ = makePlot(QStringLiteral("plot-ack"), tr("Ack latency (ms)"));
    ack_plot_->addSeries(QStringLiteral("p50"));
    ack_plot_->addSeries(QStringLiteral("p99"));
    listen_plot_ = makePlot(QStringLiteral("plot-listen"), tr("Kernel listen queue"));
    listen_plot_->addSeries(tr("queued"));
    listen_plot_->addSeries(tr("limit"));
    listen_plot_->addSeries(tr("overflows/s"), LivePlot::Axis::Right);
    listen_plot_->addSeries(tr("drops/s"), LivePlot::Axis::Right);
    ready_plot_ = makePlot(QStringLiteral("plot-ready"), tr("Ready-queue depth per worker"));
    fibers_plot_ = makePlot(QStringLiteral("plot-fibers"), tr("Fibers and context switches"));
    fibers_plot_->addSeries(tr("fibers alive"));
    fibers_plot_->addSeries(tr("switches/s"), LivePlot::Axis::Right);
    idle_plot_ = makePlot(QStringLiteral("plot-idle"), tr("Worker idle %"));
    store_plot_ = makePlot(QStringLiteral("plot-store"), tr("Store queue and batch size"));
    store_plot_->addSeries(tr("queued samples"));
    store_plot_->addSeries(tr("last batch"), LivePlot::Axis::Right);
    commit_plot_ = makePlot(QStringLiteral("plot-commit"), tr("Commit latency (ms)"));
    commit_plot_->addSeries(QStringLiteral("p50"));
    commit_plot_->addSeries(QStringLiteral("p99"));
    rss_plot_ = makePlot(QStringLiteral("plot-rss"), tr("Process RSS (MiB)"));
    rss_plot_->addSeries(QStringLiteral("RSS"));
    fds_plot_ = makePlot(QStringLiteral("plot-fds"), tr("Open files against the ceiling"));
    fds_plot_->addSeries(tr("open files"));
    fds_plot_->addSeries(tr("connection ceiling"));
    fds_plot_->addSeries(tr("file limit"));

    constexpr int kColumns = 3;
    for (std::size_t i = 0; i < plots_.size(); ++i)
        grid->addWidget(plots_[i], static_cast<int>(i) / kColumns, static_cast<int>(i) % kColumns);

    auto* content = new QWidget;
    content->setObjectName(QStringLiteral("overviewContent"));
    auto* contentLayout = new QVBoxLayout(content);
    contentLayout->setContentsMargins(10, 10, 10, 10);
    contentLayout->setSpacing(10);
    contentLayout->addLayout(tiles);
    contentLayout->addLayout(grid, 1);

    auto* scroll = new QScrollArea(this);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    scroll->setWidget(content);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(scroll);
}

LivePlot* OverviewPage::makePlot(const QString& objectName, const QString& title)
{
    auto* plot = new LivePlot(title, window_, this);
    plot->setObjectName(objectName);
    plot->setMinimumHeight(210);
    plots_.push_back(plot);
    return plot;
}

void OverviewPage::ensureWorkerSeries(std::size_t workers)
{
    while (worker_series_ < workers) {
        const QString name = tr("worker %1").arg(worker_series_);
        ready_plot_->addSeries(name);
        idle_plot_->addSeries(name);
        ++worker_series_;
    }
}

void OverviewPage::addPoint(const OverviewPoint& p)
{
    const double t = p.t;
    connections_plot_->append(0, t, p.connections);
    connections_plot_->append(1, t, p.accept_rate);
    for (int c = 1; c <= 5; ++c)
        requests_plot_->append(c - 1, t, p.responses_rate[static_cast<std::size_t>(c)]);
    samples_plot_->append(0, t, p.samples_rate);
    ack_plot_->append(0, t, p.ack_p50_ms);
    ack_plot_->append(1, t, p.ack_p99_ms);

    const bool listenKnown = !std::isnan(p.listen_queue);
    listen_plot_->setUnavailable(listenKnown ? QString() : tr("Listen queue: not available on this OS"));
    if (listenKnown) {
        listen_plot_->append(0, t, p.listen_queue);
        listen_plot_->append(1, t, p.listen_queue_limit);
        listen_plot_->append(2, t, p.listen_overflows_rate);
        listen_plot_->append(3, t, p.listen_drops_rate);
    }

    ensureWorkerSeries(p.ready_depth.size());
    for (std::size_t w = 0; w < p.ready_depth.size(); ++w) {
        ready_plot_->append(static_cast<int>(w), t, p.ready_depth[w]);
        idle_plot_->append(static_cast<int>(w), t, p.idle_pct[w]);
    }
    fibers_plot_->append(0, t, p.fibers_alive);
    fibers_plot_->append(1, t, p.switches_rate);
    store_plot_->append(0, t, p.store_queue);
    store_plot_->append(1, t, p.store_batch);
    commit_plot_->append(0, t, p.commit_p50_ms);
    commit_plot_->append(1, t, p.commit_p99_ms);
    rss_plot_->append(0, t, p.rss_mb);
    fds_plot_->append(0, t, p.open_fds);
    fds_plot_->append(1, t, p.connection_ceiling);
    fds_plot_->append(2, t, p.fd_limit);

    using Level = KpiTile::Level;
    const double ceiling = p.connection_ceiling;
    const double used = ceiling > 0 ? p.connections / ceiling : 0;
    connections_->setValue(formatNumber(p.connections, 0), tr("of %1 ceiling").arg(formatNumber(ceiling, 0)),
                           used > 0.95  ? Level::Critical
                           : used > 0.8 ? Level::Warning
                                        : Level::Normal);
    const double errors = p.responses_rate[4] + p.responses_rate[5];
    requests_->setValue(
        formatNumber(p.requests_rate, 1),
        tr("4xx %1 · 5xx %2").arg(formatNumber(p.responses_rate[4], 1), formatNumber(p.responses_rate[5], 1)),
        p.responses_rate[5] > 0 ? Level::Critical
        : errors > 0            ? Level::Warning
                                : Level::Normal);
    samples_->setValue(formatNumber(p.samples_rate, 1), tr("committed"));
    latency_->setValue(ms(p.ack_p99_ms), tr("p50 %1").arg(ms(p.ack_p50_ms)),
                       p.ack_p99_ms > 250  ? Level::Critical
                       : p.ack_p99_ms > 50 ? Level::Warning
                                           : Level::Normal);
    if (listenKnown) {
        const bool dropping = p.listen_overflows_rate > 0 || p.listen_drops_rate > 0;
        listen_->setValue(
            QStringLiteral("%1 / %2").arg(formatNumber(p.listen_queue, 0),
                                          formatNumber(p.listen_queue_limit, 0)),
            tr("drops %1/s").arg(formatNumber(p.listen_overflows_rate + p.listen_drops_rate, 1)),
            dropping ? Level::Critical : Level::Normal);
    } else {
        listen_->setValue(tr("n/a"), tr("not available on this OS"), Level::Unavailable);
    }
    fibers_->setValue(formatNumber(p.fibers_alive, 0), tr("%1 parked").arg(formatNumber(p.parked, 0)));
    const double idle = p.idle_pct.empty()
                            ? 0
                            : std::accumulate(p.idle_pct.begin(), p.idle_pct.end(), 0.0) / p.idle_pct.size();
    idle_->setValue(formatNumber(idle, 0) + QStringLiteral(" %"), tr("mean of %1").arg(p.idle_pct.size()),
                    idle < 5    ? Level::Critical
                    : idle < 20 ? Level::Warning
                                : Level::Normal);
    store_->setValue(formatNumber(p.store_queue, 0), tr("commit p99 %1").arg(ms(p.commit_p99_ms)));
    memory_->setValue(formatNumber(p.rss_mb, 1) + QStringLiteral(" MiB"),
                      tr("%1 / %2 files").arg(formatNumber(p.open_fds, 0), formatNumber(p.fd_limit, 0)));
    // The broker link (metrics::MqttLink): its state, and messages committed per second while up.
    if (p.mqtt_link == 0)
        mqtt_->setValue(tr("off"), tr("no mqtt-broker"), Level::Unavailable);
    else if (p.mqtt_link == 1)
        mqtt_->setValue(tr("reconnecting"), tr("broker unreachable"), Level::Warning);
    else
        mqtt_->setValue(formatNumber(p.mqtt_rate, 1) + tr(" msg/s"),
                        p.mqtt_invalid > 0 ? tr("up, %1 invalid").arg(formatNumber(p.mqtt_invalid, 0))
                                           : tr("up"),
                        p.mqtt_invalid > 0 ? Level::Warning : Level::Normal);
}

void OverviewPage::setAlertSummary(int active, int unacknowledged, int severity)
{
    using Level = KpiTile::Level;
    const Level level = unacknowledged == 0 ? Level::Normal
                        : severity >= 2     ? Level::Critical
                                            : Level::Warning;
    alerts_->setValue(QString::number(active),
                      active == 0 ? tr("none active") : tr("%1 not acknowledged").arg(unacknowledged), level);
}

void OverviewPage::refreshPlots(double now_s)
{
    // A few plots per frame, in turn: replotting all twelve in one frame would make that frame the slow one.
    const std::size_t n = plots_.size();
    for (std::size_t i = 0; i < kPlotsPerFrame && n > 0; ++i)
        plots_[(next_refresh_ + i) % n]->refresh(now_s);
    next_refresh_ = (next_refresh_ + kPlotsPerFrame) % std::max<std::size_t>(n, 1);
}

void OverviewPage::clear()
{
    for (LivePlot* plot : plots_)
        plot->clearData();
}

} // namespace fleetscope::ui
