// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/pages/devices_page.hpp"

#include "ui/models/device_table_model.hpp"

#include <QAccessible>
#include <QCheckBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QTableView>
#include <QVBoxLayout>

namespace fleetscope::ui {

namespace {

/// Leaves repainting after a change to DevicesPage::repaintChanged. QSortFilterProxyModel forwards a change
/// to a run of source rows as one range, from the lowest to the highest proxy row it touches; sorted by
/// name, the 250 devices a frame updates lie all over the table, so that range spans the rows on screen
/// nearly every frame, and the view would repaint all of them though few if any changed.
class DeviceTableView : public QTableView {
public:
    using QTableView::QTableView;

protected:
    void dataChanged(const QModelIndex& topLeft, const QModelIndex& bottomRight,
                     const QList<int>& roles) override
    {
        // The table edits nothing: the base class's other duty is to tell assistive technology.
        if (QAccessible::isActive())
            QTableView::dataChanged(topLeft, bottomRight, roles);
    }
};

} // namespace

DevicesPage::DevicesPage(DeviceTableModel* model, QWidget* parent)
    : QWidget(parent)
    , model_(model)
    , proxy_(new DeviceFilterProxy(this))
    , filter_(new QLineEdit(this))
    , stale_only_(new QCheckBox(tr("Stale only"), this))
    , summary_(new QLabel(this))
    , view_(new DeviceTableView(this))
{
    proxy_->setSourceModel(model_);
    filter_->setPlaceholderText(tr("Filter devices by id (Ctrl+F)"));
    filter_->setClearButtonEnabled(true);
    filter_->setObjectName(QStringLiteral("deviceFilter"));
    summary_->setObjectName(QStringLiteral("mutedLabel"));

    view_->setObjectName(QStringLiteral("deviceTable"));
    view_->setModel(proxy_);
    view_->setSortingEnabled(true);
    view_->sortByColumn(DeviceTableModel::ColDevice, Qt::AscendingOrder);
    view_->setSelectionBehavior(QAbstractItemView::SelectRows);
    view_->setSelectionMode(QAbstractItemView::SingleSelection);
    view_->setAlternatingRowColors(true);
    view_->setShowGrid(false);
    view_->setWordWrap(false);
    view_->verticalHeader()->setVisible(false);
    // Fixed row heights: the view then never measures 20,000 rows to lay them out.
    view_->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
    view_->verticalHeader()->setDefaultSectionSize(fontMetrics().height() + 8);
    view_->horizontalHeader()->setSectionResizeMode(QHeaderView::Interactive);
    view_->horizontalHeader()->setStretchLastSection(false);
    view_->horizontalHeader()->setSectionResizeMode(DeviceTableModel::ColDevice, QHeaderView::Stretch);
    view_->horizontalHeader()->setDefaultSectionSize(110);
    view_->setColumnWidth(DeviceTableModel::ColStatus, 80);
    // Shown only when the monitor is attached to remote gateways (AttachWiring).
    view_->setColumnHidden(DeviceTableModel::ColGateway, true);
    view_->setColumnWidth(DeviceTableModel::ColAlerts, 70);
    view_->setColumnWidth(DeviceTableModel::ColLastSeen, 130);

    auto* bar = new QHBoxLayout;
    bar->addWidget(filter_, 1);
    bar->addWidget(stale_only_);
    bar->addSpacing(12);
    bar->addWidget(summary_);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(10, 10, 10, 10);
    layout->addLayout(bar);
    layout->addWidget(view_, 1);

    // After the proxy's own handler (connected by setSourceModel), so the rows are where the proxy put them.
    connect(model_, &QAbstractItemModel::dataChanged, this, &DevicesPage::repaintChanged);
    connect(filter_, &QLineEdit::textChanged, proxy_, &DeviceFilterProxy::setFilterText);
    connect(stale_only_, &QCheckBox::toggled, proxy_, &DeviceFilterProxy::setStaleOnly);
    connect(model_, &DeviceTableModel::countsChanged, this, &DevicesPage::updateSummary);
    // Of what a row shows, only "last seen" moves with the clock alone (a status change is signalled with its
    // row): repaint that column, not every cell on screen.
    connect(model_, &DeviceTableModel::clockAdvanced, this, [this] {
        QWidget* viewport = view_->viewport();
        const int x = view_->columnViewportPosition(DeviceTableModel::ColLastSeen);
        viewport->update(x, 0, view_->columnWidth(DeviceTableModel::ColLastSeen), viewport->height());
    });
    connect(proxy_, &QAbstractItemModel::rowsInserted, this, &DevicesPage::updateSummary);
    connect(proxy_, &QAbstractItemModel::rowsRemoved, this, &DevicesPage::updateSummary);
    connect(proxy_, &QAbstractItemModel::modelReset, this, &DevicesPage::updateSummary);
    connect(view_, &QTableView::activated, this, [this](const QModelIndex& index) {
        emit deviceActivated(model_->deviceAt(proxy_->mapToSource(index).row()));
    });
    updateSummary();
}

void DevicesPage::focusFilter()
{
    filter_->setFocus();
    filter_->selectAll();
}

void DevicesPage::repaintChanged(const QModelIndex& topLeft, const QModelIndex& bottomRight)
{
    if (!view_->isVisible() || !topLeft.isValid() || !bottomRight.isValid())
        return;
    QWidget* viewport = view_->viewport();
    const int first = view_->rowAt(0);
    if (first < 0)
        return; // no row on screen
    int last = view_->rowAt(viewport->height() - 1);
    if (last < 0)
        last = proxy_->rowCount() - 1;
    QRegion region;
    auto add = [&](int row) {
        region += QRect(0, view_->rowViewportPosition(row), viewport->width(), view_->rowHeight(row));
    };
    // Walk whichever is shorter, the changed rows or the rows on screen; either way a lookup per row.
    if (bottomRight.row() - topLeft.row() <= last - first) {
        for (int source = topLeft.row(); source <= bottomRight.row(); ++source) {
            const int row = proxy_->mapFromSource(model_->index(source, 0)).row();
            if (row >= first && row <= last)
                add(row);
        }
    } else {
        for (int row = first; row <= last; ++row) {
            const int source = proxy_->mapToSource(proxy_->index(row, 0)).row();
            if (source >= topLeft.row() && source <= bottomRight.row())
                add(row);
        }
    }
    if (!region.isEmpty())
        viewport->update(region);
}

void DevicesPage::updateSummary()
{
    const QLocale locale;
    QString text = tr("%1 devices · %2 live · %3 stale · %4 offline")
                       .arg(locale.toString(static_cast<qulonglong>(model_->rowCount())),
                            locale.toString(static_cast<qulonglong>(model_->liveCount())),
                            locale.toString(static_cast<qulonglong>(model_->staleCount())),
                            locale.toString(static_cast<qulonglong>(model_->offlineCount())));
    if (proxy_->rowCount() != model_->rowCount())
        text += tr(" · %1 shown").arg(locale.toString(proxy_->rowCount()));
    summary_->setText(text);
}

} // namespace fleetscope::ui
