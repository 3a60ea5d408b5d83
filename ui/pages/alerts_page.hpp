// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <QWidget>

class QComboBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QSortFilterProxyModel;
class QTableView;

namespace fleetscope::ui {

class AlertCenter;
class AlertHistoryProxy;

/// The alerts page: the active alerts (severity, rule, subject, since, message, acknowledged) with
/// acknowledge buttons, over the filterable history of raised, cleared and acknowledged events.
/// GUI thread only.
class AlertsPage : public QWidget {
    Q_OBJECT
public:
    explicit AlertsPage(AlertCenter* center, QWidget* parent = nullptr);

    QTableView* activeView() const { return active_view_; }
    QTableView* historyView() const { return history_view_; }
    AlertHistoryProxy* historyProxy() const { return history_proxy_; }
    QPushButton* acknowledgeButton() const { return acknowledge_; }
    QString summaryText() const;

    /// Acknowledges the selected active alerts, or the current one; false when none is selected.
    bool acknowledgeSelected();

signals:
    void rulesRequested();
    /// A device alert was activated (double-click or Enter): show that device.
    void deviceActivated(const QString& device);

private:
    void updateSummary(int active, int unacknowledged, int severity);
    void updateButtons();
    void updateHistoryCount();

    AlertCenter* center_;
    QSortFilterProxyModel* active_proxy_;
    AlertHistoryProxy* history_proxy_;
    QTableView* active_view_;
    QTableView* history_view_;
    QLabel* summary_;
    QLabel* history_count_;
    QLineEdit* history_filter_;
    QComboBox* history_kind_;
    QPushButton* acknowledge_;
    QPushButton* acknowledge_all_;
    QPushButton* rules_;
};

} // namespace fleetscope::ui
