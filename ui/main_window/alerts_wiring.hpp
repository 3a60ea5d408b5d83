// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <QObject>

namespace fleetscope::ui {

class AlertCenter;
class AlertsPage;
class GatewayController;
class MainWindow;
class WindowActions;

/// The monitor's alerts: the Alerts page and its AlertCenter, their badges on the overview, the tab and the
/// device rows, the alert shortcuts, and the rule editor. GUI thread only; a child of the window. The engine
/// is reached through the GatewayController's queued requests, the events through the window's LiveFeed
/// frames.
class AlertsWiring : public QObject {
    Q_OBJECT
public:
    AlertsWiring(MainWindow* window, GatewayController* controller, WindowActions* actions);

    AlertCenter* center() const { return center_; }
    AlertsPage* page() const { return page_; }
    /// Opens the rule editor (window-modal); saving writes the rules file and applies it to a running
    /// gateway.
    void openRules();

signals:
    /// The running gateway took the saved rules (empty), or refused them (what is wrong).
    void rulesApplied(const QString& error);

private:
    void showBadges(int active, int unacknowledged, int severity);

    MainWindow* window_;
    GatewayController* controller_;
    AlertCenter* center_;
    AlertsPage* page_;
    int tab_;
};

} // namespace fleetscope::ui
