// SPDX-License-Identifier: GPL-3.0-or-later
// EventFeed: the bounded queue of alert events for one consumer.
#include "core/alerts/alerts.hpp"

#include <algorithm>

namespace fleetscope::alerts {

EventFeed::EventFeed(std::size_t capacity)
    : events_(std::max<std::size_t>(capacity, 2))
{}

bool EventFeed::pop(AlertEvent& out)
{
    return events_.pop(out);
}

void EventFeed::push(const AlertEvent& e)
{
    if (!events_.push(e))
        dropped_.fetch_add(1, std::memory_order_relaxed);
}

} // namespace fleetscope::alerts
