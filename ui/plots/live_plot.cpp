// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/plots/live_plot.hpp"

#include "core/util/clock.hpp"
#include "ui/plots/time_window.hpp"
#include "ui/theme/theme.hpp"

#include <QContextMenuEvent>
#include <QDateTime>
#include <QFileDialog>
#include <QFileInfo>
#include <QLocale>
#include <QMenu>
#include <QPointer>
#include <QTimer>

#include <algorithm>
#include <cmath>

namespace fleetscope::ui {

namespace {

QPointer<LivePlot> g_last_active;

const QString kOverlayLayer = QStringLiteral("crosshair");

} // namespace

QString formatNumber(double value, int maxDecimals)
{
    if (!std::isfinite(value))
        return QStringLiteral("–");
    const QLocale locale;
    const int decimals = std::fabs(value) >= 100 ? 0 : maxDecimals;
    QString text = locale.toString(value, 'f', decimals);
    if (decimals > 0) {
        const QString point = locale.decimalPoint();
        if (text.contains(point)) {
            while (text.endsWith(QLatin1Char('0')))
                text.chop(1);
            if (text.endsWith(point))
                text.chop(point.size());
        }
    }
    return text;
}

QString formatElapsed(qint64 ms)
{
    const qint64 s = std::max<qint64>(0, ms) / 1000;
    return QStringLiteral("%1:%2:%3")
        .arg(s / 3600, 2, 10, QLatin1Char('0'))
        .arg((s % 3600) / 60, 2, 10, QLatin1Char('0'))
        .arg(s % 60, 2, 10, QLatin1Char('0'));
}

LivePlot* LivePlot::lastActive()
{
    return g_last_active.data();
}

LivePlot::LivePlot(const QString& title, TimeWindow* window, QWidget* parent)
    : QCustomPlot(parent)
    , title_(title)
    , window_(window)
    , retention_s_(TimeWindow::kMaxSeconds + 60)
{
    setObjectName(QStringLiteral("plot"));
    setMinimumHeight(190);
    setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    axisRect()->setRangeZoom(Qt::Horizontal);
    setNoAntialiasingOnDrag(true);
    setAntialiasedElements(QCP::aePlottables | QCP::aeItems);
    setNotAntialiasedElements(QCP::aeAxes | QCP::aeGrid | QCP::aeSubGrid | QCP::aeLegend);

    plotLayout()->insertRow(0);
    QFont titleFont = font();
    titleFont.setPointSizeF(titleFont.pointSizeF() * 0.95);
    titleFont.setWeight(QFont::DemiBold);
    title_element_ = new QCPTextElement(this, title, titleFont);
    title_element_->setMargins(QMargins(8, 6, 8, 0));
    plotLayout()->addElement(0, 0, title_element_);
    plotLayout()->setRowSpacing(0);

    xAxis->setTicker(QSharedPointer<QCPAxisTickerDateTime>::create());
    xAxis->ticker()->setTickCount(5);
    yAxis->ticker()->setTickCount(4);
    yAxis2->ticker()->setTickCount(4);
    QFont tickFont = font();
    tickFont.setPointSizeF(tickFont.pointSizeF() * 0.85);
    for (QCPAxis* axis : {xAxis, yAxis, yAxis2}) {
        axis->setTickLabelFont(tickFont);
        axis->setLabelFont(tickFont);
        axis->setTickLengthOut(0);
        axis->setSubTicks(false);
    }
    yAxis->setNumberFormat(QStringLiteral("gb"));

    legend->setFont(tickFont);
    legend->setFillOrder(QCPLayoutGrid::foColumnsFirst);
    legend->setWrap(6);
    legend->setRowSpacing(0);
    legend->setColumnSpacing(8);
    legend->setIconSize(12, 8);
    // The legend gets a row of its own under the title: inside the axis rect it would hide the lines that
    // run near the top, like a limit.
    // It stays out of any layout until a second series makes it useful (setLegendShown); the plot, its
    // QObject parent, deletes it either way.
    axisRect()->insetLayout()->take(legend);
    legend->setVisible(false);
    legend->setMargins(QMargins(8, 2, 8, 0));

    addLayer(kOverlayLayer, layer(QStringLiteral("main")), QCustomPlot::limAbove);
    // Every layer logical, so that the plot draws into one paint buffer. A buffered crosshair layer would
    // make moving the crosshair cheaper, but every live replot would then clear and composite a full-size
    // buffer for each run of layers, four here with QCustomPlot's buffered "overlay" (which only its
    // selection rectangle uses, and these plots have none), far more than the occasional hover replot costs.
    for (int i = 0; i < layerCount(); ++i)
        layer(i)->setMode(QCPLayer::lmLogical);
    cross_ = new QCPItemStraightLine(this);
    readout_ = new QCPItemText(this);
    overlay_ = new QCPItemText(this);
    for (QCPAbstractItem* item : std::initializer_list<QCPAbstractItem*>{cross_, readout_, overlay_}) {
        item->setLayer(kOverlayLayer);
        item->setVisible(false);
        item->setSelectable(false);
    }
    readout_->position->setType(QCPItemPosition::ptAxisRectRatio);
    readout_->position->setCoords(0.99, 0.03);
    readout_->setPositionAlignment(Qt::AlignRight | Qt::AlignTop);
    readout_->setTextAlignment(Qt::AlignLeft);
    readout_->setPadding(QMargins(6, 4, 6, 4));
    readout_->setFont(tickFont);
    readout_->setClipToAxisRect(false);
    overlay_->position->setType(QCPItemPosition::ptAxisRectRatio);
    overlay_->position->setCoords(0.5, 0.5);
    overlay_->setPositionAlignment(Qt::AlignCenter);

    connect(xAxis, qOverload<const QCPRange&>(&QCPAxis::rangeChanged), this, [this] {
        // Any range change we did not make ourselves is the user zooming or panning: stop following.
        if (!programmatic_range_)
            following_ = false;
    });
    connect(&Theme::instance(), &Theme::changed, this, [this] {
        applyTheme();
        refresh(window_->now(), true);
    });
    connect(window_, &TimeWindow::changed, this, [this] { refresh(window_->now(), true); });
    connect(window_, &TimeWindow::resetRequested, this, &LivePlot::resetView);
    applyTheme();
}

int LivePlot::addSeries(const QString& name, Axis axis, int colorIndex)
{
    QCPAxis* valueAxis = axis == Axis::Left ? yAxis : yAxis2;
    if (axis == Axis::Right) {
        yAxis2->setVisible(true);
        yAxis2->setTickLabels(true);
    }
    QCPGraph* graph = addGraph(xAxis, valueAxis);
    graph->setName(name);
    graph->setAdaptiveSampling(true);
    const auto& series = Theme::instance().colors().series;
    const int index = colorIndex >= 0 ? colorIndex : next_color_++;
    graph->setProperty("colorIndex", index);
    QPen pen(series[static_cast<std::size_t>(index) % series.size()], 1.6);
    if (axis == Axis::Right)
        pen.setStyle(Qt::DashLine);
    graph->setPen(pen);
    setLegendShown(graphCount() > 1 && unavailable_reason_.isEmpty());
    dirty_ = true;
    return graphCount() - 1;
}

QString LivePlot::seriesName(int series) const
{
    return graph(series) ? graph(series)->name() : QString();
}

int LivePlot::seriesIndex(const QString& name) const
{
    for (int i = 0; i < graphCount(); ++i)
        if (graph(i)->name() == name)
            return i;
    return -1;
}

void LivePlot::append(int series, double t, double value)
{
    if (!std::isfinite(value))
        return;
    graph(series)->data()->add(QCPGraphData(t, value));
    dirty_ = true;
}

void LivePlot::merge(int series, const QVector<QCPGraphData>& sortedPoints)
{
    graph(series)->data()->add(sortedPoints, true);
    dirty_ = true;
}

void LivePlot::clearData()
{
    for (int i = 0; i < graphCount(); ++i)
        graph(i)->data()->clear();
    dirty_ = true;
}

void LivePlot::setAxisLabels(const QString& left, const QString& right)
{
    yAxis->setLabel(left);
    yAxis2->setLabel(right);
}

void LivePlot::setUnavailable(const QString& reason)
{
    if (reason == unavailable_reason_)
        return;
    unavailable_reason_ = reason;
    overlay_->setText(reason);
    overlay_->setVisible(!reason.isEmpty());
    for (int i = 0; i < graphCount(); ++i)
        graph(i)->setVisible(reason.isEmpty());
    setLegendShown(graphCount() > 1 && reason.isEmpty());
    dirty_ = true;
}

void LivePlot::setLegendShown(bool shown)
{
    // A hidden legend would still take its layout row; out of the layout, one-line plots get the height.
    legend->setVisible(shown);
    if (shown && !legend->layout()) {
        plotLayout()->insertRow(1);
        plotLayout()->addElement(1, 0, legend);
        plotLayout()->setRowStretchFactor(1, 0.001);
    } else if (!shown && legend->layout()) {
        plotLayout()->take(legend);
        plotLayout()->simplify();
    }
}

bool LivePlot::onScreen() const
{
    return isVisible() && !visibleRegion().isEmpty();
}

bool LivePlot::refresh(double now_s, bool force)
{
    last_now_ = now_s;
    const double cutoff = now_s - retention_s_;
    for (int i = 0; i < graphCount(); ++i) {
        auto data = graph(i)->data();
        if (!data->isEmpty() && data->constBegin()->key < cutoff)
            data->removeBefore(cutoff);
    }
    if (!onScreen())
        return false;
    const qint64 ms = util::now_ms();
    const double right = window_->rightEdge(now_s);
    if (!force) {
        if (ms - last_replot_ms_ < kMinReplotIntervalMs)
            return false;
        // A replot that changes no pixel costs as much as one that does (clearing, drawing and compositing
        // the whole plot): redraw for new data, or, following the window, once it has scrolled a pixel. A
        // five-minute window moves a pixel every half second or so, far less often than the frame rate.
        const double secondsPerPixel = window_->seconds() / std::max(1, axisRect()->width());
        const bool scrolled = following_ && std::fabs(right - last_right_) >= secondsPerPixel;
        if (!dirty_ && !scrolled)
            return false;
    }
    if (following_) {
        programmatic_range_ = true;
        xAxis->setRange(right - window_->seconds(), right);
        programmatic_range_ = false;
        rescaleValues();
        last_right_ = right;
    }
    updateTicker();
    updateCrosshair();
    replot(QCustomPlot::rpQueuedRefresh);
    last_replot_ms_ = ms;
    dirty_ = false;
    return true;
}

void LivePlot::rescaleValues()
{
    for (QCPAxis* axis : {yAxis, yAxis2}) {
        bool any = false;
        QCPRange range;
        for (int i = 0; i < graphCount(); ++i) {
            QCPGraph* g = graph(i);
            if (g->valueAxis() != axis)
                continue;
            bool found = false;
            const QCPRange r = g->getValueRange(found, QCP::sdBoth, xAxis->range());
            if (!found)
                continue;
            range = any ? QCPRange(std::min(range.lower, r.lower), std::max(range.upper, r.upper)) : r;
            any = true;
        }
        if (!any)
            range = QCPRange(0, 1);
        if (zero_based_ && range.lower >= 0)
            range.lower = 0;
        double span = range.upper - range.lower;
        if (span <= 0) {
            span = std::max(1.0, std::fabs(range.upper) * 0.1);
            range.lower -= zero_based_ && range.lower == 0 ? 0 : span / 2;
            range.upper = range.lower + span;
        }
        range.upper += span * 0.08;
        if (!(zero_based_ && range.lower == 0))
            range.lower -= span * 0.05;
        axis->setRange(range);
    }
}

void LivePlot::updateTicker()
{
    const double span = xAxis->range().size();
    if (span == ticker_window_)
        return;
    ticker_window_ = span;
    auto ticker = qSharedPointerCast<QCPAxisTickerDateTime>(xAxis->ticker());
    if (span <= 20 * 60)
        ticker->setDateTimeFormat(QStringLiteral("hh:mm:ss"));
    else if (span <= 36 * 3600)
        ticker->setDateTimeFormat(QStringLiteral("hh:mm"));
    else
        ticker->setDateTimeFormat(QStringLiteral("d MMM\nhh:mm"));
}

void LivePlot::updateCrosshair()
{
    const bool show = mouse_x_ >= 0 && unavailable_reason_.isEmpty() && graphCount() > 0;
    cross_->setVisible(show);
    readout_->setVisible(show);
    for (QCPItemTracer* tracer : tracers_)
        tracer->setVisible(false);
    if (!show)
        return;
    const ThemeColors& c = Theme::instance().colors();
    const double key = xAxis->pixelToCoord(mouse_x_);
    cross_->point1->setCoords(key, 0);
    cross_->point2->setCoords(key, 1);
    while (tracers_.size() < graphCount()) {
        auto* tracer = new QCPItemTracer(this);
        tracer->setLayer(kOverlayLayer);
        tracer->setStyle(QCPItemTracer::tsCircle);
        tracer->setSize(7);
        tracer->setInterpolating(false);
        tracer->setSelectable(false);
        tracers_.push_back(tracer);
    }
    const QLocale locale;
    QStringList lines;
    QString when;
    for (int i = 0; i < graphCount(); ++i) {
        QCPGraph* g = graph(i);
        if (g->data()->isEmpty())
            continue;
        QCPItemTracer* tracer = tracers_[i];
        tracer->setGraph(g);
        tracer->setGraphKey(key);
        tracer->updatePosition();
        tracer->setPen(QPen(g->pen().color(), 1.5));
        tracer->setBrush(c.panel);
        tracer->setVisible(true);
        const double t = tracer->position->key();
        const double v = tracer->position->value();
        if (when.isEmpty())
            when = QDateTime::fromMSecsSinceEpoch(static_cast<qint64>(std::llround(t * 1000)))
                       .toString(QStringLiteral("yyyy-MM-dd hh:mm:ss.zzz"));
        lines << QStringLiteral("%1: %2").arg(g->name(), locale.toString(v, 'g', 12));
    }
    if (lines.isEmpty()) {
        readout_->setVisible(false);
        return;
    }
    lines.prepend(when);
    readout_->setText(lines.join(QLatin1Char('\n')));
}

QString LivePlot::crosshairText() const
{
    return readout_->visible() ? readout_->text() : QString();
}

void LivePlot::resetView()
{
    following_ = true;
    dirty_ = true;
    refresh(window_->now(), true);
}

void LivePlot::showRange(double from_s, double to_s)
{
    following_ = false;
    programmatic_range_ = true;
    xAxis->setRange(from_s, to_s);
    programmatic_range_ = false;
    rescaleValues();
    dirty_ = true;
    refresh(window_->now(), true);
}

QString LivePlot::exportTo(const QString& path)
{
    const QString suffix = QFileInfo(path).suffix().toLower();
    bool ok = false;
    if (suffix == QLatin1String("png"))
        ok = savePng(path, 0, 0, 2.0);
    else if (suffix == QLatin1String("pdf"))
        ok = savePdf(path, 0, 0, QCP::epNoCosmetic, QStringLiteral("FleetScope"), title_);
    else
        return QStringLiteral("cannot export to '%1': expected a file name ending in .png or .pdf").arg(path);
    return ok ? QString() : QStringLiteral("cannot write '%1'").arg(path);
}

void LivePlot::applyTheme()
{
    const ThemeColors& c = Theme::instance().colors();
    Theme::instance().stylePlot(this);
    title_element_->setTextColor(c.text);
    cross_->setPen(QPen(c.muted, 1, Qt::DashLine));
    readout_->setColor(c.text);
    readout_->setBrush(QBrush(QColor(c.base.red(), c.base.green(), c.base.blue(), 225)));
    readout_->setPen(QPen(c.grid));
    overlay_->setColor(c.muted);
    for (int i = 0; i < graphCount(); ++i) {
        QPen pen = graph(i)->pen();
        const int index = graph(i)->property("colorIndex").toInt();
        pen.setColor(c.series[static_cast<std::size_t>(index) % c.series.size()]);
        graph(i)->setPen(pen);
    }
    dirty_ = true;
}

void LivePlot::mouseMoveEvent(QMouseEvent* event)
{
    QCustomPlot::mouseMoveEvent(event);
    g_last_active = this;
    const int x = static_cast<int>(event->position().x());
    mouse_x_ = axisRect()->rect().contains(event->position().toPoint()) ? x : -1;
    updateCrosshair();
    replot(QCustomPlot::rpQueuedReplot); // once per pass of the event loop, however many moves it brought
}

void LivePlot::mousePressEvent(QMouseEvent* event)
{
    g_last_active = this;
    emit activated(this);
    QCustomPlot::mousePressEvent(event);
}

void LivePlot::mouseDoubleClickEvent(QMouseEvent* event)
{
    QCustomPlot::mouseDoubleClickEvent(event);
    resetView();
}

void LivePlot::wheelEvent(QWheelEvent* event)
{
    g_last_active = this;
    QCustomPlot::wheelEvent(event);
}

void LivePlot::leaveEvent(QEvent* event)
{
    QCustomPlot::leaveEvent(event);
    mouse_x_ = -1;
    updateCrosshair();
    replot(QCustomPlot::rpQueuedReplot); // once per pass of the event loop, however many moves it brought
}

void LivePlot::showEvent(QShowEvent* event)
{
    QCustomPlot::showEvent(event);
    dirty_ = true;
    // After the layout has given the plot its size.
    QTimer::singleShot(0, this, [this] { refresh(window_->now(), true); });
}

void LivePlot::contextMenuEvent(QContextMenuEvent* event)
{
    g_last_active = this;
    QMenu menu(this);
    menu.addAction(tr("Reset view"), this, &LivePlot::resetView);
    menu.addAction(window_->paused() ? tr("Resume") : tr("Pause"), this,
                   [this] { window_->setPaused(!window_->paused()); });
    menu.addSeparator();
    menu.addAction(tr("Export plot…"), this, [this] {
        const QString path =
            QFileDialog::getSaveFileName(this, tr("Export plot"), title_ + QStringLiteral(".png"),
                                         tr("PNG image (*.png);;PDF document (*.pdf)"));
        if (path.isEmpty())
            return;
        if (const QString error = exportTo(path); !error.isEmpty())
            QMessageBox::warning(this, tr("Export plot"), error);
    });
    menu.exec(event->globalPos());
}

} // namespace fleetscope::ui
