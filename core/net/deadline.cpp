// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/net/deadline.hpp"

#include <algorithm>

namespace fleetscope::net {

namespace {
constexpr std::size_t index(Phase p)
{
    return static_cast<std::size_t>(p);
}
} // namespace

DeadlineWheel::DeadlineWheel(boost::asio::io_context& io, const Settings& settings, Expire expire)
    : ticker_(io)
    , expire_(expire)
{
    // A connection that may park waits park-after for its next request, then idle-timeout less that without
    // a fiber; one that may not waits idle-timeout with its fiber. Either way the idle list has one timeout.
    const bool may_park = settings.park_after < settings.idle_timeout;
    timeouts_[index(Phase::park)] = settings.park_after;
    timeouts_[index(Phase::idle)] =
        may_park ? settings.idle_timeout - settings.park_after : settings.idle_timeout;
    timeouts_[index(Phase::header)] = settings.header_timeout;
    timeouts_[index(Phase::body)] = settings.body_timeout;
    timeouts_[index(Phase::write)] = settings.write_timeout;
    // Resolution: a quarter of the shortest timeout, between 5 ms and 100 ms.
    const Millis shortest = std::min({settings.park_after, settings.header_timeout, settings.body_timeout,
                                      settings.idle_timeout, settings.write_timeout});
    tick_ = std::clamp<Clock::duration>(shortest / 4, Millis(5), Millis(100));
}

void DeadlineWheel::start()
{
    tick();
}

void DeadlineWheel::stop()
{
    stopped_ = true;
    ticker_.cancel();
}

void DeadlineWheel::arm(Deadline& d, Phase phase)
{
    d.DeadlineHook::unlink();
    d.at = Clock::now() + timeouts_[index(phase)];
    d.armed = phase;
    d.expired = Phase::none;
    lists_[index(phase)].push_back(d);
}

void DeadlineWheel::disarm(Deadline& d)
{
    d.DeadlineHook::unlink();
    d.armed = Phase::none;
}

void DeadlineWheel::tick()
{
    const auto now = Clock::now();
    for (auto& list : lists_) {
        while (!list.empty() && list.front().at <= now) {
            Deadline& d = list.front();
            list.pop_front();
            d.expired = d.armed;
            d.armed = Phase::none;
            expire_(d);
        }
    }
    if (stopped_)
        return;
    ticker_.expires_after(tick_);
    ticker_.async_wait([this](boost::system::error_code ec) {
        if (!ec && !stopped_)
            tick();
    });
}

} // namespace fleetscope::net
