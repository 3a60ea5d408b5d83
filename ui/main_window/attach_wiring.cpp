// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/main_window/attach_wiring.hpp"

#include "ui/feed/live_feed.hpp"
#include "ui/feed/remote/remote_feeds.hpp"
#include "ui/main_window/main_window.hpp"
#include "ui/models/device_table_model.hpp"
#include "ui/pages/dashboard.hpp"
#include "ui/pages/devices_page.hpp"
#include "ui/pages/gateways_page.hpp"
#include "ui/pages/overview_page.hpp"

#include <QStatusBar>
#include <QTableView>

namespace fleetscope::ui {

AttachWiring::AttachWiring(MainWindow* window, const AttachSettings& settings, QByteArray token,
                           std::size_t queue)
    : QObject(window)
    , window_(window)
    , dashboard_(window->dashboard())
    , feeds_(new RemoteFeeds(settings, std::move(token), queue, this))
    , page_(new GatewaysPage(window->timeWindow(), dashboard_))
{
    // The Gateways tab takes the Overview's place: same index, so showPage("overview") shows it.
    const int overview = dashboard_->indexOf(dashboard_->overviewPage());
    const bool shown = dashboard_->currentIndex() == overview;
    dashboard_->removeTab(overview);
    dashboard_->insertTab(overview, page_, tr("Gateways"));
    if (shown)
        dashboard_->setCurrentIndex(overview);
    dashboard_->devicesPage()->view()->setColumnHidden(DeviceTableModel::ColGateway, false);

    for (int i = 0; i < feeds_->count(); ++i) {
        page_->addGateway(feeds_->gateway(i).name);
        auto consumer = std::make_unique<LiveFeed>();
        consumer->setSubscription(feeds_->gateway(i).subscription);
        consumers_.push_back(std::move(consumer));
    }
    connect(feeds_, &RemoteFeeds::gatewayChanged, this, &AttachWiring::onGatewayChanged);
    connect(feeds_, &RemoteFeeds::devicesListed, this, &AttachWiring::onDevicesListed);
    connect(window->feed(), &LiveFeed::frameReady, this, &AttachWiring::applyFrame);
    connect(dashboard_, &Dashboard::watchedDeviceChanged, this, [this](const QString& device) {
        for (auto& c : consumers_)
            c->setWatchedDevice(device.toStdString());
    });
}

AttachWiring::~AttachWiring() = default;

void AttachWiring::start()
{
    feeds_->start();
}

void AttachWiring::applyFrame(const Frame& frame)
{
    // The window's own feed has no subscription when attached: its frame only sets the clock. Each
    // gateway's queues are drained here, on the same frame.
    metrics::Snapshot snapshot;
    for (std::size_t i = 0; i < consumers_.size(); ++i) {
        const int index = static_cast<int>(i);
        const auto& subscription = feeds_->gateway(index).subscription;
        // Snapshots go to the gateway's own overview; the merged views get only the devices.
        while (subscription->pop_snapshot(snapshot))
            page_->addSnapshot(index, snapshot);
        const Frame& f = consumers_[i]->collect(frame.now_ms);
        if (f.devices.empty() && f.watched.empty())
            continue;
        dashboard_->applyFrame(f);
        dashboard_->deviceModel()->setGateway(f.devices, feeds_->gateway(index).name);
    }
    page_->refreshPlots(static_cast<double>(frame.now_ms) / 1000.0);
}

void AttachWiring::onGatewayChanged(int index)
{
    const RemoteFeeds::Gateway& g = feeds_->gateway(index);
    QString state;
    switch (g.state) {
    case LinkState::Connecting:
        state = tr("%1: connecting to %2…").arg(g.name, g.url);
        break;
    case LinkState::Live:
        // A new stream: the gateway's totals may have started again.
        page_->resetDerivation(index);
        state = tr("%1: live at %2").arg(g.name, g.url);
        break;
    case LinkState::Gone:
        state = tr("%1: gone (%2); retrying in %3 s")
                    .arg(g.name, g.detail)
                    .arg(static_cast<double>(g.retry_ms) / 1000.0, 0, 'f', 1);
        break;
    }
    page_->setGatewayState(index, g.name, state, g.state == LinkState::Live);
    if (g.state == LinkState::Gone)
        window_->statusBar()->showMessage(state, 8000);
    emit changed();
    if (g.state != LinkState::Connecting)
        emit gatewayStateChanged(state);
}

void AttachWiring::onDevicesListed(int index, const RemoteDevices& devices)
{
    DeviceTableModel* model = dashboard_->deviceModel();
    model->addKnownDevices(devices.rows);
    for (const auto& h : devices.holders)
        model->setGateway(QString::fromStdString(h.device), QString::fromStdString(h.gateway));
    Q_UNUSED(index);
}

std::uint64_t AttachWiring::dropped() const
{
    std::uint64_t n = 0;
    for (std::size_t i = 0; i < consumers_.size(); ++i)
        n += consumers_[i]->droppedTotal() + feeds_->gateway(static_cast<int>(i)).remote_dropped;
    return n;
}

QString AttachWiring::summary() const
{
    return tr("attached: %1").arg(feeds_->summary());
}

} // namespace fleetscope::ui
