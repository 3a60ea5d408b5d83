// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/sim/phases.hpp"

#include <algorithm>

namespace fleetscope::sim {

double seconds_between(Clock::time_point a, Clock::time_point b)
{
    return std::chrono::duration<double>(b - a).count();
}

Progress tally(Session& s, Phase phase, Clock::time_point phase_start, Clock::time_point ramp_start)
{
    Progress p;
    p.phase = phase;
    p.target_connections = s.opt.connections;
    const auto now = Clock::now();
    p.phase_seconds = seconds_between(phase_start, now);
    for (const auto& w : s.workers) {
        p.opened += w->opened.load(std::memory_order_relaxed);
        p.failed += w->failed.load(std::memory_order_relaxed) + w->refused.load(std::memory_order_relaxed);
        p.refused += w->refused.load(std::memory_order_relaxed);
        p.responses += w->responses.load(std::memory_order_relaxed);
        p.ok += w->ok.load(std::memory_order_relaxed);
        p.errors += w->request_errors.load(std::memory_order_relaxed);
    }
    const double ramp_s = seconds_between(ramp_start, now);
    p.connects_per_s = ramp_s > 0 ? static_cast<double>(p.opened + p.failed) / ramp_s : 0;
    return p;
}

void wait_reporting(Session& s, Phase phase, Clock::time_point ramp_start, const ProgressCallback& progress,
                    const std::function<bool()>& done, const std::function<void()>& step,
                    Clock::duration poll)
{
    const auto phase_start = Clock::now();
    auto next_report = phase_start + s.opt.progress_period;
    std::uint64_t last_responses = 0;
    auto last_time = phase_start;
    if (progress) {
        Progress p = tally(s, phase, phase_start, ramp_start);
        p.phase_started = true;
        last_responses = p.responses;
        progress(p);
    }
    for (;;) {
        if (step)
            step();
        if (done())
            return;
        const auto now = Clock::now();
        if (progress && now >= next_report) {
            Progress p = tally(s, phase, phase_start, ramp_start);
            const double dt = seconds_between(last_time, now);
            p.recent_rps = dt > 0 ? static_cast<double>(p.responses - last_responses) / dt : 0;
            last_responses = p.responses;
            last_time = now;
            progress(p);
            next_report = now + s.opt.progress_period;
        }
        const auto wake_at = progress ? std::min(next_report, now + poll) : now + poll;
        std::unique_lock lock(s.mutex);
        if (!done())
            s.wake.wait_until(lock, wake_at);
    }
}

} // namespace fleetscope::sim
