// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "core/metrics/snapshot.hpp"

#include <QObject>
#include <QString>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

class QLabel;
class QStatusBar;

namespace fleetscope::ui {

struct GatewayInfo;

/// The status bar's permanent fields: the gateway's state, where it listens and how devices reach it, uptime,
/// the connection ceiling, the view updates dropped, and the frame p99 over the last frames. GUI thread
/// only; the window tells it what changed, it holds no reference to the gateway.
class StatusPanel : public QObject {
    Q_OBJECT
public:
    enum class State { Stopped, Starting, Running, Stopping, Failed, Offline, Attached };

    StatusPanel(QStatusBar* bar, QObject* parent);

    void setState(State state);

    /// One frame's duration (ms), kept among the last kFrameHistory.
    void recordFrame(double ms) { frame_ms_[frame_next_++ % kFrameHistory] = ms; }
    /// Recomputes the p99 of the recorded frames: once a second, not once a frame.
    void updateFrameP99();
    double frameP99Ms() const { return frame_p99_ms_; }

    struct Facts {
        const GatewayInfo& info;
        bool running = false;
        bool offline = false;
        const std::optional<metrics::Snapshot>& snapshot;
        std::uint64_t dropped = 0; // view updates dropped, by the core and by the UI
        QString attached;          // attached to remote gateways: how each one is (else empty)
    };
    void show(const Facts& facts);

    static constexpr std::size_t kFrameHistory = 256;

private:
    QLabel* state_;
    QLabel* address_;
    QLabel* access_;
    QLabel* uptime_;
    QLabel* ceiling_;
    QLabel* dropped_;
    QLabel* frame_;
    std::vector<double> frame_ms_ = std::vector<double>(kFrameHistory, 0.0);
    std::size_t frame_next_ = 0;
    double frame_p99_ms_ = 0;
};

} // namespace fleetscope::ui
