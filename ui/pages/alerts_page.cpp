// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/pages/alerts_page.hpp"

#include "ui/models/alert_center.hpp"
#include "ui/models/alert_models.hpp"

#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QPushButton>
#include <QSet>
#include <QSortFilterProxyModel>
#include <QSplitter>
#include <QStyle>
#include <QTableView>
#include <QVBoxLayout>

namespace fleetscope::ui {

namespace {

QTableView* makeTable(QWidget* parent, const QString& name)
{
    auto* view = new QTableView(parent);
    view->setObjectName(name);
    view->setSortingEnabled(true);
    view->setSelectionBehavior(QAbstractItemView::SelectRows);
    view->setAlternatingRowColors(true);
    view->setShowGrid(false);
    view->setWordWrap(false);
    view->verticalHeader()->setVisible(false);
    view->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
    view->verticalHeader()->setDefaultSectionSize(view->fontMetrics().height() + 8);
    view->horizontalHeader()->setStretchLastSection(true);
    view->horizontalHeader()->setDefaultSectionSize(130);
    return view;
}

QLabel* heading(const QString& text, QWidget* parent)
{
    auto* label = new QLabel(text, parent);
    label->setObjectName(QStringLiteral("sectionHeading"));
    return label;
}

} // namespace

AlertsPage::AlertsPage(AlertCenter* center, QWidget* parent)
    : QWidget(parent)
    , center_(center)
    , active_proxy_(new QSortFilterProxyModel(this))
    , history_proxy_(new AlertHistoryProxy(this))
    , active_view_(makeTable(this, QStringLiteral("activeAlerts")))
    , history_view_(makeTable(this, QStringLiteral("alertHistory")))
    , summary_(new QLabel(this))
    , history_count_(new QLabel(this))
    , history_filter_(new QLineEdit(this))
    , history_kind_(new QComboBox(this))
    , acknowledge_(new QPushButton(tr("Acknowledge"), this))
    , acknowledge_all_(new QPushButton(tr("Acknowledge all"), this))
    , rules_(new QPushButton(tr("Rules…"), this))
{
    active_proxy_->setSourceModel(center_->activeModel());
    active_proxy_->setSortRole(ActiveAlertsModel::SortRole);
    active_proxy_->setDynamicSortFilter(true);
    active_view_->setModel(active_proxy_);
    // Most urgent first, then the oldest: what needs a look leads.
    active_view_->sortByColumn(ActiveAlertsModel::ColSeverity, Qt::DescendingOrder);
    active_view_->setColumnWidth(ActiveAlertsModel::ColSeverity, 110);
    active_view_->setColumnWidth(ActiveAlertsModel::ColRule, 160);
    active_view_->setColumnWidth(ActiveAlertsModel::ColSubject, 150);
    active_view_->setColumnWidth(ActiveAlertsModel::ColSince, 190);
    active_view_->setColumnWidth(ActiveAlertsModel::ColAcked, 170);
    active_view_->setSelectionMode(QAbstractItemView::ExtendedSelection);

    history_proxy_->setSourceModel(center_->historyModel());
    history_view_->setModel(history_proxy_);
    history_view_->sortByColumn(AlertHistoryModel::ColTime, Qt::DescendingOrder);
    history_view_->setSelectionMode(QAbstractItemView::SingleSelection);
    history_view_->setColumnWidth(AlertHistoryModel::ColTime, 110);
    history_view_->setColumnWidth(AlertHistoryModel::ColEvent, 110);
    history_view_->setColumnWidth(AlertHistoryModel::ColSeverity, 110);
    history_view_->setColumnWidth(AlertHistoryModel::ColRule, 160);
    history_view_->setColumnWidth(AlertHistoryModel::ColSubject, 150);

    summary_->setObjectName(QStringLiteral("alertsSummary"));
    history_count_->setObjectName(QStringLiteral("mutedLabel"));
    acknowledge_->setObjectName(QStringLiteral("acknowledgeButton"));
    acknowledge_->setToolTip(tr("Acknowledge the selected alerts (Ctrl+K)"));
    acknowledge_all_->setToolTip(tr("Acknowledge every active alert not yet acknowledged"));
    rules_->setToolTip(tr("Edit the alert rules (Ctrl+Shift+A)"));
    history_filter_->setObjectName(QStringLiteral("historyFilter"));
    history_filter_->setPlaceholderText(tr("Filter by rule, subject or message"));
    history_filter_->setClearButtonEnabled(true);
    history_kind_->setObjectName(QStringLiteral("historyKind"));
    history_kind_->addItem(tr("All events"), -1);
    history_kind_->addItem(tr("Raised"), static_cast<int>(alerts::AlertEvent::Kind::raised));
    history_kind_->addItem(tr("Cleared"), static_cast<int>(alerts::AlertEvent::Kind::cleared));
    history_kind_->addItem(tr("Acknowledged"), static_cast<int>(alerts::AlertEvent::Kind::acked));

    auto* activeBar = new QHBoxLayout;
    activeBar->addWidget(heading(tr("Active alerts"), this));
    activeBar->addSpacing(12);
    activeBar->addWidget(summary_);
    activeBar->addStretch(1);
    activeBar->addWidget(acknowledge_);
    activeBar->addWidget(acknowledge_all_);
    activeBar->addSpacing(12);
    activeBar->addWidget(rules_);
    auto* activePane = new QWidget(this);
    auto* activeLayout = new QVBoxLayout(activePane);
    activeLayout->setContentsMargins(0, 0, 0, 0);
    activeLayout->addLayout(activeBar);
    activeLayout->addWidget(active_view_, 1);

    auto* historyBar = new QHBoxLayout;
    historyBar->addWidget(heading(tr("History"), this));
    historyBar->addSpacing(12);
    historyBar->addWidget(history_filter_, 1);
    historyBar->addWidget(history_kind_);
    historyBar->addSpacing(12);
    historyBar->addWidget(history_count_);
    auto* historyPane = new QWidget(this);
    auto* historyLayout = new QVBoxLayout(historyPane);
    historyLayout->setContentsMargins(0, 0, 0, 0);
    historyLayout->addLayout(historyBar);
    historyLayout->addWidget(history_view_, 1);

    auto* splitter = new QSplitter(Qt::Vertical, this);
    splitter->addWidget(activePane);
    splitter->addWidget(historyPane);
    splitter->setChildrenCollapsible(false);
    splitter->setStretchFactor(0, 1);
    splitter->setStretchFactor(1, 1);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(10, 10, 10, 10);
    layout->addWidget(splitter);

    connect(center_, &AlertCenter::summaryChanged, this, &AlertsPage::updateSummary);
    connect(acknowledge_, &QPushButton::clicked, this, &AlertsPage::acknowledgeSelected);
    connect(acknowledge_all_, &QPushButton::clicked, center_, &AlertCenter::acknowledgeAll);
    connect(rules_, &QPushButton::clicked, this, &AlertsPage::rulesRequested);
    connect(active_view_->selectionModel(), &QItemSelectionModel::selectionChanged, this,
            &AlertsPage::updateButtons);
    connect(history_filter_, &QLineEdit::textChanged, history_proxy_, &AlertHistoryProxy::setFilterText);
    connect(history_kind_, &QComboBox::currentIndexChanged, this,
            [this](int i) { history_proxy_->setKindFilter(history_kind_->itemData(i).toInt()); });
    for (auto signal : {&QAbstractItemModel::rowsInserted, &QAbstractItemModel::rowsRemoved})
        connect(history_proxy_, signal, this, &AlertsPage::updateHistoryCount);
    connect(history_proxy_, &QAbstractItemModel::modelReset, this, &AlertsPage::updateHistoryCount);
    connect(history_proxy_, &QAbstractItemModel::layoutChanged, this, &AlertsPage::updateHistoryCount);
    auto activate = [this](QTableView* view, auto subjectOf) {
        connect(view, &QTableView::activated, this, [this, subjectOf](const QModelIndex& index) {
            const QString subject = subjectOf(index);
            if (subject != QLatin1String("gateway"))
                emit deviceActivated(subject);
        });
    };
    activate(active_view_, [this](const QModelIndex& index) {
        return center_->activeModel()
            ->index(active_proxy_->mapToSource(index).row(), ActiveAlertsModel::ColSubject)
            .data()
            .toString();
    });
    activate(history_view_, [this](const QModelIndex& index) {
        return center_->historyModel()
            ->index(history_proxy_->mapToSource(index).row(), AlertHistoryModel::ColSubject)
            .data()
            .toString();
    });

    updateSummary(center_->activeCount(), center_->unacknowledgedCount(), -1);
    updateHistoryCount();
}

QString AlertsPage::summaryText() const
{
    return summary_->text();
}

void AlertsPage::updateSummary(int active, int unacknowledged, int severity)
{
    const QLocale locale;
    summary_->setText(active == 0 ? tr("none active")
                                  : tr("%1 active · %2 not acknowledged")
                                        .arg(locale.toString(active), locale.toString(unacknowledged)));
    const char* level = unacknowledged == 0 ? "normal" : severity >= 2 ? "critical" : "warning";
    if (summary_->property("level").toString() != QLatin1String(level)) {
        summary_->setProperty("level", QString::fromLatin1(level));
        summary_->style()->unpolish(summary_);
        summary_->style()->polish(summary_);
    }
    acknowledge_all_->setEnabled(unacknowledged > 0);
    updateButtons();
}

void AlertsPage::updateButtons()
{
    acknowledge_->setEnabled(active_view_->selectionModel()->hasSelection());
}

void AlertsPage::updateHistoryCount()
{
    const QLocale locale;
    const int shown = history_proxy_->rowCount();
    const int total = center_->historyModel()->rowCount();
    history_count_->setText(shown == total
                                ? tr("%n event(s)", "", total)
                                : tr("%1 of %2 events").arg(locale.toString(shown), locale.toString(total)));
}

bool AlertsPage::acknowledgeSelected()
{
    QSet<int> rows;
    for (const QModelIndex& index : active_view_->selectionModel()->selectedRows())
        rows.insert(active_proxy_->mapToSource(index).row());
    if (rows.isEmpty() && active_view_->currentIndex().isValid())
        rows.insert(active_proxy_->mapToSource(active_view_->currentIndex()).row());
    for (int row : rows)
        center_->acknowledge(center_->activeModel()->alertAt(row).id);
    return !rows.isEmpty();
}

} // namespace fleetscope::ui
