// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/pages/gateways_page.hpp"

#include "ui/pages/overview_page.hpp"

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QStackedWidget>
#include <QVBoxLayout>

namespace fleetscope::ui {

struct GatewaysPage::Gateway {
    OverviewPage* overview = nullptr;
    SnapshotDeriver deriver;
    std::optional<metrics::Snapshot> last;
    QString state;
    bool live = false;
};

GatewaysPage::GatewaysPage(TimeWindow* window, QWidget* parent)
    : QWidget(parent)
    , window_(window)
    , picker_(new QComboBox(this))
    , state_(new QLabel(this))
    , stack_(new QStackedWidget(this))
{
    picker_->setObjectName(QStringLiteral("gatewayPicker"));
    picker_->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    state_->setObjectName(QStringLiteral("gatewayState"));
    auto* bar = new QHBoxLayout;
    bar->addWidget(new QLabel(tr("Gateway"), this));
    bar->addWidget(picker_);
    bar->addWidget(state_, 1);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 6, 0, 0);
    layout->addLayout(bar);
    layout->addWidget(stack_, 1);
    connect(picker_, &QComboBox::currentIndexChanged, this, [this](int index) {
        if (index >= 0)
            stack_->setCurrentIndex(index);
        showState();
    });
}

GatewaysPage::~GatewaysPage() = default;

int GatewaysPage::addGateway(const QString& name)
{
    auto g = std::make_unique<Gateway>();
    g->overview = new OverviewPage(window_, stack_);
    g->state = tr("connecting…");
    stack_->addWidget(g->overview);
    gateways_.push_back(std::move(g));
    picker_->addItem(name);
    showState();
    return count() - 1;
}

void GatewaysPage::setGatewayState(int index, const QString& name, const QString& state, bool live)
{
    Gateway& g = *gateways_.at(static_cast<std::size_t>(index));
    g.state = state;
    g.live = live;
    g.overview->setEnabled(live);
    picker_->setItemText(index, live ? name : tr("%1 (gone)").arg(name));
    showState();
}

void GatewaysPage::showState()
{
    const int index = picker_->currentIndex();
    if (index < 0 || index >= count())
        return;
    const Gateway& g = *gateways_[static_cast<std::size_t>(index)];
    state_->setText(g.state);
    state_->setProperty("state", g.live ? QStringLiteral("running") : QStringLiteral("failed"));
}

void GatewaysPage::addSnapshot(int index, const metrics::Snapshot& snapshot)
{
    Gateway& g = *gateways_.at(static_cast<std::size_t>(index));
    if (auto point = g.deriver.push(snapshot))
        g.overview->addPoint(*point);
    g.last = snapshot;
}

void GatewaysPage::resetDerivation(int index)
{
    gateways_.at(static_cast<std::size_t>(index))->deriver.reset();
}

void GatewaysPage::refreshPlots(double now_s)
{
    // Only the picked overview is on screen; the others replot when picked.
    if (auto* page = qobject_cast<OverviewPage*>(stack_->currentWidget()))
        page->refreshPlots(now_s);
}

void GatewaysPage::pick(int index)
{
    picker_->setCurrentIndex(index);
}

OverviewPage* GatewaysPage::overview(int index) const
{
    return gateways_.at(static_cast<std::size_t>(index))->overview;
}

QString GatewaysPage::stateText(int index) const
{
    return gateways_.at(static_cast<std::size_t>(index))->state;
}

const std::optional<metrics::Snapshot>& GatewaysPage::lastSnapshot(int index) const
{
    return gateways_.at(static_cast<std::size_t>(index))->last;
}

} // namespace fleetscope::ui
