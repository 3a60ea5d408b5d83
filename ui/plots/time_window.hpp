// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <QObject>

#include <functional>

namespace fleetscope::ui {

double nowSeconds(); // wall clock, seconds since epoch, ms resolution

/// The rolling window every live plot shows and the global pause. GUI thread only.
/// Pausing freezes what the plots show; data keeps being ingested underneath.
class TimeWindow : public QObject {
    Q_OBJECT
public:
    explicit TimeWindow(QObject* parent = nullptr);

    double seconds() const { return seconds_; }
    void setSeconds(double seconds); // clamped to [kMinSeconds, kMaxSeconds]

    bool paused() const { return paused_; }
    void setPaused(bool paused);
    double pausedAt() const { return paused_at_; } // seconds since epoch

    /// The right edge the plots show: now, or the moment of the pause.
    double rightEdge(double now_s) const { return paused_ ? paused_at_ : now_s; }

    /// The clock the plots follow, seconds since epoch: the wall clock, or a replay's position when a capture
    /// is reviewed offline. An empty function restores the wall clock.
    void setClock(std::function<double()> clock);
    double now() const { return clock_ ? clock_() : nowSeconds(); }

    static constexpr double kMinSeconds = 60;
    static constexpr double kMaxSeconds = 24 * 3600;

signals:
    void changed();
    void resetRequested();

private:
    double seconds_ = 300;
    bool paused_ = false;
    double paused_at_ = 0;
    std::function<double()> clock_;
};

} // namespace fleetscope::ui
