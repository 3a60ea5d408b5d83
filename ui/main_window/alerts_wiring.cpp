// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/main_window/alerts_wiring.hpp"

#include "ui/dialogs/rule_editor_dialog.hpp"
#include "ui/feed/gateway_controller.hpp"
#include "ui/feed/live_feed.hpp"
#include "ui/main_window/main_window.hpp"
#include "ui/main_window/window_actions.hpp"
#include "ui/models/alert_center.hpp"
#include "ui/models/alert_models.hpp"
#include "ui/pages/alerts_page.hpp"
#include "ui/pages/dashboard.hpp"
#include "ui/pages/overview_page.hpp"
#include "ui/theme/theme.hpp"

#include <QAction>
#include <QStatusBar>

namespace fleetscope::ui {

AlertsWiring::AlertsWiring(MainWindow* window, GatewayController* controller, WindowActions* actions)
    : QObject(window)
    , window_(window)
    , controller_(controller)
{
    Dashboard* dashboard = window->dashboard();
    // Three events per alert the engine keeps (raised, acknowledged, cleared).
    center_ = new AlertCenter(controller_, dashboard->deviceModel(), 3 * window->settings().alerts_recent + 3,
                              this);
    page_ = new AlertsPage(center_, dashboard);
    tab_ = dashboard->addTab(page_, tr("Alerts"));
    connect(window->feed(), &LiveFeed::frameReady, center_,
            [this](const Frame& frame) { center_->drain(frame.now_ms); });

    connect(center_, &AlertCenter::summaryChanged, this, &AlertsWiring::showBadges);
    connect(&Theme::instance(), &Theme::changed, this, [this] {
        showBadges(center_->activeCount(), center_->unacknowledgedCount(),
                   center_->activeModel()->highestUnacknowledged());
    });
    connect(center_, &AlertCenter::acknowledged, this, [this](qint64 id, const QString& result) {
        if (result != QLatin1String("acked"))
            window_->statusBar()->showMessage(tr("Alert %1 not acknowledged: %2").arg(id).arg(result), 5000);
    });
    connect(center_, &AlertCenter::notificationClicked, this, [this] {
        window_->showNormal();
        window_->raise();
        window_->activateWindow();
        window_->dashboard()->setCurrentIndex(tab_);
    });
    connect(page_, &AlertsPage::rulesRequested, this, &AlertsWiring::openRules);
    connect(page_, &AlertsPage::deviceActivated, window_, &MainWindow::showDevice);
    connect(controller_, &GatewayController::alertRulesApplied, this, [this](const QString& error) {
        window_->statusBar()->showMessage(
            error.isEmpty() ? tr("Alert rules applied") : tr("Alert rules not applied: %1").arg(error), 8000);
        emit rulesApplied(error);
    });

    auto* show = actions->add(tr("Show Alerts"), QKeySequence(Qt::CTRL | Qt::Key_4));
    connect(show, &QAction::triggered, this, [this] { window_->dashboard()->setCurrentIndex(tab_); });
    auto* acknowledge = actions->add(tr("Acknowledge alert"), QKeySequence(Qt::CTRL | Qt::Key_K),
                                     tr("Acknowledge the alerts selected on the Alerts page"));
    connect(acknowledge, &QAction::triggered, this, [this] {
        if (!page_->acknowledgeSelected()) {
            window_->dashboard()->setCurrentIndex(tab_);
            window_->statusBar()->showMessage(tr("Select an active alert to acknowledge"), 5000);
        }
    });
    auto* rules = actions->add(tr("Alert rules…"), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_A),
                               tr("Edit the alert rules"));
    connect(rules, &QAction::triggered, this, &AlertsWiring::openRules);
}

void AlertsWiring::showBadges(int active, int unacknowledged, int severity)
{
    Dashboard* dashboard = window_->dashboard();
    dashboard->overviewPage()->setAlertSummary(active, unacknowledged, severity);
    dashboard->setTabText(tab_, active == 0 ? tr("Alerts") : tr("Alerts (%1)").arg(active));
    dashboard->setTabIcon(tab_, unacknowledged > 0 ? severityIcon(static_cast<alerts::Severity>(severity))
                                                   : QIcon());
}

void AlertsWiring::openRules()
{
    const std::string path = alerts::rules_path(window_->settings());
    auto loaded = alerts::load_rules(path);
    auto* dialog = new RuleEditorDialog(loaded ? std::move(loaded).value() : std::vector<alerts::Rule>{},
                                        QString::fromStdString(path), window_);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    if (!loaded)
        window_->statusBar()->showMessage(tr("The rules file was not read, saving replaces it: %1")
                                              .arg(QString::fromStdString(loaded.error())),
                                          15000);
    connect(dialog, &QDialog::accepted, this, [this, dialog] {
        if (window_->gatewayRunning())
            controller_->requestSetAlertRules(dialog->rules());
        else
            window_->statusBar()->showMessage(tr("Alert rules saved; they apply when the gateway starts"),
                                              8000);
    });
    dialog->open();
}

} // namespace fleetscope::ui
