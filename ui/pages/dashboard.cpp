// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/pages/dashboard.hpp"

#include "ui/feed/live_feed.hpp"
#include "ui/models/device_table_model.hpp"
#include "ui/pages/device_detail_page.hpp"
#include "ui/pages/devices_page.hpp"
#include "ui/pages/overview_page.hpp"
#include "ui/pages/widget_export.hpp"

namespace fleetscope::ui {

Dashboard::Dashboard(TimeWindow* window, Millis staleAfter, QWidget* parent)
    : QTabWidget(parent)
    , model_(new DeviceTableModel(this))
{
    model_->setStaleAfter(staleAfter);
    overview_ = new OverviewPage(window, this);
    devices_ = new DevicesPage(model_, this);
    detail_ = new DeviceDetailPage(window, model_, this);
    setDocumentMode(true);
    addTab(overview_, tr("Overview"));
    addTab(devices_, tr("Devices"));
    addTab(detail_, tr("Device detail"));
    connect(devices_, &DevicesPage::deviceActivated, this, [this](const QString& device) {
        detail_->showDevice(device);
        setCurrentWidget(detail_);
    });
    connect(detail_, &DeviceDetailPage::watchedDeviceChanged, this, &Dashboard::watchedDeviceChanged);
}

void Dashboard::resetDerivation()
{
    deriver_.reset();
    last_snapshot_.reset();
}

void Dashboard::clearViews()
{
    resetDerivation();
    last_clock_ms_ = 0;
    overview_->clear();
    model_->clear();
    detail_->clearData();
}

void Dashboard::setDatabasePath(const QString& path)
{
    detail_->setDatabasePath(path);
}

void Dashboard::applyFrame(const Frame& frame)
{
    for (const metrics::Snapshot& s : frame.snapshots) {
        if (auto point = deriver_.push(s))
            overview_->addPoint(*point);
        last_snapshot_ = s;
    }
    for (const OverviewPoint& p : frame.points)
        overview_->addPoint(p);
    if (!frame.devices.empty())
        model_->applyFrame(frame.devices, frame.now_ms);
    if (!frame.watched.empty())
        detail_->addLive(frame.watched);

    // Each plot replots only when on screen and due, so the hidden pages cost nothing here.
    const double now = static_cast<double>(frame.now_ms) / 1000.0;
    overview_->refreshPlots(now);
    detail_->refreshPlots(now);

    if (frame.now_ms - last_clock_ms_ >= 1000 || frame.now_ms < last_clock_ms_) {
        // Relative ages and stale flags move once a second, not once a frame.
        last_clock_ms_ = frame.now_ms;
        model_->setNow(frame.now_ms);
        emit secondElapsed();
    }
}

QString Dashboard::exportView(const QString& path)
{
    QWidget* page = currentWidget();
    // The scroll areas' content widgets render completely, including what is scrolled out of sight.
    if (auto* content = page->findChild<QWidget*>(QStringLiteral("overviewContent")))
        page = content;
    return exportWidget(page, path);
}

} // namespace fleetscope::ui
