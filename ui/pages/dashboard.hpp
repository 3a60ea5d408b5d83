// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "core/metrics/snapshot.hpp"
#include "core/settings.hpp"
#include "ui/feed/snapshot_deriver.hpp"

#include <QTabWidget>

#include <optional>

namespace fleetscope::ui {

class DeviceDetailPage;
class DeviceTableModel;
class DevicesPage;
class OverviewPage;
class TimeWindow;
struct Frame;

/// The three pages (overview, devices, device detail) and the device model, fed one Frame at a time.
/// Knows nothing of the gateway, so tests and the benchmark drive it with a bare Subscription.
/// GUI thread only.
class Dashboard : public QTabWidget {
    Q_OBJECT
public:
    Dashboard(TimeWindow* window, Millis staleAfter, QWidget* parent = nullptr);

    /// Applies one frame: snapshots to the overview, coalesced devices to the table, the watched device's
    /// samples to its plots, then replots what is on screen.
    void applyFrame(const Frame& frame);
    /// Forget the rate baseline (a new gateway's totals start again from zero).
    void resetDerivation();
    /// Empties every view (plots, device table, the shown device's plots): a replay jumped back in time.
    void clearViews();
    void setDatabasePath(const QString& path);

    DeviceTableModel* deviceModel() const { return model_; }
    OverviewPage* overviewPage() const { return overview_; }
    DevicesPage* devicesPage() const { return devices_; }
    DeviceDetailPage* detailPage() const { return detail_; }
    const std::optional<metrics::Snapshot>& lastSnapshot() const { return last_snapshot_; }

    /// Writes the current page (all of it, also the part scrolled away) as PNG or PDF; returns an error.
    [[nodiscard]] QString exportView(const QString& path);

signals:
    /// The device whose every sample the feed should keep (empty: none).
    void watchedDeviceChanged(const QString& device);
    /// Once a second, after relative ages and stale flags moved.
    void secondElapsed();

private:
    DeviceTableModel* model_;
    OverviewPage* overview_;
    DevicesPage* devices_;
    DeviceDetailPage* detail_;
    SnapshotDeriver deriver_;
    std::optional<metrics::Snapshot> last_snapshot_;
    std::int64_t last_clock_ms_ = 0;
};

} // namespace fleetscope::ui
