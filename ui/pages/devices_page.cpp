// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/pages/devices_page.hpp"

#include "ui/models/device_table_model.hpp"

#include <QCheckBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QTableView>
#include <QVBoxLayout>

namespace fleetscope::ui {

DevicesPage::DevicesPage(DeviceTableModel* model, QWidget* parent)
    : QWidget(parent)
    , model_(model)
    , proxy_(new DeviceFilterProxy(this))
    , filter_(new QLineEdit(this))
    , stale_only_(new QCheckBox(tr("Stale only"), this))
    , summary_(new QLabel(this))
    , view_(new QTableView(this))
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

    connect(filter_, &QLineEdit::textChanged, proxy_, &DeviceFilterProxy::setFilterText);
    connect(stale_only_, &QCheckBox::toggled, proxy_, &DeviceFilterProxy::setStaleOnly);
    connect(model_, &DeviceTableModel::countsChanged, this, &DevicesPage::updateSummary);
    connect(model_, &DeviceTableModel::clockAdvanced, view_->viewport(), qOverload<>(&QWidget::update));
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
