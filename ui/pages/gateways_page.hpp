// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "core/metrics/snapshot.hpp"
#include "ui/feed/snapshot_deriver.hpp"

#include <QWidget>

#include <memory>
#include <optional>
#include <vector>

class QComboBox;
class QLabel;
class QStackedWidget;

namespace fleetscope::ui {

class OverviewPage;
class TimeWindow;

/// The overview of each remote gateway the monitor is attached to (--attach): a picker naming each gateway
/// and its state, a line saying whether the picked one is live or gone (and when it is retried), and one
/// OverviewPage per gateway, each fed by its own snapshots. GUI thread only.
class GatewaysPage : public QWidget {
    Q_OBJECT
public:
    explicit GatewaysPage(TimeWindow* window, QWidget* parent = nullptr);
    ~GatewaysPage() override;

    /// Adds a gateway's overview; returns its index.
    int addGateway(const QString& name);
    /// `live` false shows the overview greyed, with `state` saying why.
    void setGatewayState(int index, const QString& name, const QString& state, bool live);
    void addSnapshot(int index, const metrics::Snapshot& snapshot);
    /// The gateway's totals start again (it restarted, or the stream reconnected).
    void resetDerivation(int index);
    /// Replots the picked overview.
    void refreshPlots(double now_s);

    int count() const { return static_cast<int>(gateways_.size()); }
    void pick(int index);
    QComboBox* picker() const { return picker_; }
    OverviewPage* overview(int index) const;
    QString stateText(int index) const;
    const std::optional<metrics::Snapshot>& lastSnapshot(int index) const;

private:
    struct Gateway;
    void showState();

    TimeWindow* window_;
    QComboBox* picker_;
    QLabel* state_;
    QStackedWidget* stack_;
    std::vector<std::unique_ptr<Gateway>> gateways_;
};

} // namespace fleetscope::ui
