// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "ui/feed/remote/attach_settings.hpp"

#include <QObject>
#include <QString>

#include <cstdint>
#include <memory>
#include <vector>

namespace fleetscope::ui {

class Dashboard;
class GatewaysPage;
class LiveFeed;
class MainWindow;
class RemoteFeeds;
struct Frame;
struct RemoteDevices;

/// The monitor attached to remote gateways (`fleetscope --attach URL`, docs/architecture.md, "The remote
/// feed") instead of embedding one: the Gateways tab (one overview per gateway, in place of the Overview),
/// the merged device table with its Gateway column, the gateways' state in the status bar, and the alert
/// events of them all for the Alerts page. On each frame of the window's LiveFeed it drains every gateway's
/// queues (the consumer side of RemoteFeeds) and routes what they hold, so the GUI never waits on the
/// network. GUI thread only; a child of the window.
class AttachWiring : public QObject {
    Q_OBJECT
public:
    AttachWiring(MainWindow* window, const AttachSettings& settings, QByteArray token, std::size_t queue);
    ~AttachWiring() override;

    void start();
    RemoteFeeds* feeds() const { return feeds_; }
    GatewaysPage* page() const { return page_; }
    /// "gw-a live · gw-b gone (connection refused; retrying in 2 s)".
    QString summary() const;
    /// View updates dropped: by this monitor's queues (it lagged) and by the gateways for its streams.
    std::uint64_t dropped() const;

signals:
    /// A gateway's state changed (the status bar follows).
    void changed();
    /// A gateway became live or went away: "gw-a: live at http://…", "gw-b: gone (…); retrying in 2.0 s".
    void gatewayStateChanged(const QString& state);

private:
    void applyFrame(const Frame& frame);
    void onGatewayChanged(int index);
    void onDevicesListed(int index, const RemoteDevices& devices);

    MainWindow* window_;
    Dashboard* dashboard_;
    RemoteFeeds* feeds_;
    GatewaysPage* page_;
    std::vector<std::unique_ptr<LiveFeed>> consumers_; // one per gateway: the consumer side of its queues
};

} // namespace fleetscope::ui
