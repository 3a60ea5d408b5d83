// SPDX-License-Identifier: GPL-3.0-or-later
// The monitor's alerts: the Alerts page, its badges on the overview, the tab and the device rows, the
// shortcuts, and the rule editor. Kept apart from main_window.cpp, which only calls buildAlerts() and hands
// the alert feed over on start and stop.
#include "ui/dialogs/rule_editor_dialog.hpp"
#include "ui/feed/alert_center.hpp"
#include "ui/feed/live_feed.hpp"
#include "ui/main_window/main_window.hpp"
#include "ui/models/alert_models.hpp"
#include "ui/models/device_table_model.hpp"
#include "ui/pages/alerts_page.hpp"
#include "ui/pages/dashboard.hpp"
#include "ui/pages/overview_page.hpp"
#include "ui/theme/theme.hpp"

#include <QAction>
#include <QStatusBar>
#include <QTabBar>

namespace fleetscope::ui {

void MainWindow::buildAlerts()
{
    // Three events per alert the engine keeps (raised, acknowledged, cleared).
    alerts_ = new AlertCenter(controller_, dashboard_->deviceModel(), 3 * settings_.alerts_recent + 3, this);
    alerts_page_ = new AlertsPage(alerts_, dashboard_);
    const int tab = dashboard_->addTab(alerts_page_, tr("Alerts"));
    connect(feed_, &LiveFeed::frameReady, alerts_,
            [this](const Frame& frame) { alerts_->drain(frame.now_ms); });

    auto badge = [this, tab](int active, int unacknowledged, int severity) {
        dashboard_->overviewPage()->setAlertSummary(active, unacknowledged, severity);
        dashboard_->setTabText(tab, active == 0 ? tr("Alerts") : tr("Alerts (%1)").arg(active));
        dashboard_->setTabIcon(tab, unacknowledged > 0 ? severityIcon(static_cast<alerts::Severity>(severity))
                                                       : QIcon());
    };
    connect(alerts_, &AlertCenter::summaryChanged, this, badge);
    connect(&Theme::instance(), &Theme::changed, this, [this, badge] {
        badge(alerts_->activeCount(), alerts_->unacknowledgedCount(),
              alerts_->activeModel()->highestUnacknowledged());
    });
    connect(alerts_, &AlertCenter::acknowledged, this, [this](qint64 id, const QString& result) {
        if (result != QLatin1String("acked"))
            statusBar()->showMessage(tr("Alert %1 not acknowledged: %2").arg(id).arg(result), 5000);
    });
    connect(alerts_, &AlertCenter::notificationClicked, this, [this, tab] {
        showNormal();
        raise();
        activateWindow();
        dashboard_->setCurrentIndex(tab);
    });
    connect(alerts_page_, &AlertsPage::rulesRequested, this, &MainWindow::openAlertRules);
    connect(alerts_page_, &AlertsPage::deviceActivated, this, &MainWindow::showDevice);
    connect(controller_, &GatewayController::alertRulesApplied, this, [this](const QString& error) {
        statusBar()->showMessage(
            error.isEmpty() ? tr("Alert rules applied") : tr("Alert rules not applied: %1").arg(error), 8000);
        emit alertRulesApplied(error);
    });

    auto* show = addShortcutAction(tr("Show Alerts"), QKeySequence(Qt::CTRL | Qt::Key_4));
    connect(show, &QAction::triggered, this, [this, tab] { dashboard_->setCurrentIndex(tab); });
    auto* acknowledge = addShortcutAction(tr("Acknowledge alert"), QKeySequence(Qt::CTRL | Qt::Key_K),
                                          tr("Acknowledge the alerts selected on the Alerts page"));
    connect(acknowledge, &QAction::triggered, this, [this, tab] {
        if (!alerts_page_->acknowledgeSelected()) {
            dashboard_->setCurrentIndex(tab);
            statusBar()->showMessage(tr("Select an active alert to acknowledge"), 5000);
        }
    });
    auto* rules = addShortcutAction(tr("Alert rules…"), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_A),
                                    tr("Edit the alert rules"));
    connect(rules, &QAction::triggered, this, &MainWindow::openAlertRules);
}

void MainWindow::openAlertRules()
{
    const std::string path = alerts::rules_path(settings_);
    alerts::RulesResult loaded = alerts::load_rules(path);
    auto* dialog = new RuleEditorDialog(std::move(loaded.rules), QString::fromStdString(path), this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    if (!loaded.ok())
        statusBar()->showMessage(tr("The rules file was not read, saving replaces it: %1")
                                     .arg(QString::fromStdString(loaded.error)),
                                 15000);
    connect(dialog, &QDialog::accepted, this, [this, dialog] {
        if (running_)
            controller_->requestSetAlertRules(dialog->rules());
        else
            statusBar()->showMessage(tr("Alert rules saved; they apply when the gateway starts"), 8000);
    });
    dialog->open();
}

} // namespace fleetscope::ui
