// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <QWidget>

class QCheckBox;
class QLabel;
class QLineEdit;
class QModelIndex;
class QTableView;

namespace fleetscope::ui {

class DeviceFilterProxy;
class DeviceTableModel;

/// The device table with its text filter, "stale only" switch and counts. GUI thread only.
class DevicesPage : public QWidget {
    Q_OBJECT
public:
    DevicesPage(DeviceTableModel* model, QWidget* parent = nullptr);

    DeviceFilterProxy* proxy() const { return proxy_; }
    QTableView* view() const { return view_; }
    void focusFilter();

signals:
    void deviceActivated(const QString& device);

private:
    void updateSummary();
    /// Repaints the rows on screen among those the model changed (the view leaves that to this page).
    void repaintChanged(const QModelIndex& topLeft, const QModelIndex& bottomRight);

    DeviceTableModel* model_;
    DeviceFilterProxy* proxy_;
    QLineEdit* filter_;
    QCheckBox* stale_only_;
    QLabel* summary_;
    QTableView* view_;
};

} // namespace fleetscope::ui
