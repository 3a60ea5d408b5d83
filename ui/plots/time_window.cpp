// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/plots/time_window.hpp"

#include "core/util/clock.hpp"

#include <algorithm>

namespace fleetscope::ui {

double nowSeconds()
{
    return static_cast<double>(util::now_ms()) / 1000.0;
}

TimeWindow::TimeWindow(QObject* parent)
    : QObject(parent)
{}

void TimeWindow::setSeconds(double seconds)
{
    seconds = std::clamp(seconds, kMinSeconds, kMaxSeconds);
    if (seconds == seconds_)
        return;
    seconds_ = seconds;
    emit changed();
}

void TimeWindow::setPaused(bool paused)
{
    if (paused == paused_)
        return;
    paused_ = paused;
    if (paused_)
        paused_at_ = now();
    emit changed();
}

void TimeWindow::setClock(std::function<double()> clock)
{
    clock_ = std::move(clock);
    emit changed();
}

} // namespace fleetscope::ui
