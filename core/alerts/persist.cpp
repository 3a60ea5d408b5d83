// SPDX-License-Identifier: GPL-3.0-or-later
// Alert events recorded in the store through its Writer.
#include "core/alerts/alerts.hpp"
#include "core/store/writer.hpp"

#include <utility>

namespace fleetscope::alerts {

bool persist(store::Writer& writer, std::span<const AlertEvent> events)
{
    std::vector<store::AlertChange> changes;
    changes.reserve(events.size());
    for (const AlertEvent& e : events) {
        const Alert& a = e.alert;
        store::AlertChange c;
        c.alert.id = a.id;
        switch (e.kind) {
        case AlertEvent::Kind::raised:
            c.kind = store::AlertChange::Kind::raised;
            c.alert.rule = a.rule;
            c.alert.subject = a.subject;
            c.alert.severity = std::string(to_string(a.severity));
            c.alert.raised_at = a.raised_at;
            c.alert.message = a.message;
            break;
        case AlertEvent::Kind::cleared:
            c.kind = store::AlertChange::Kind::cleared;
            c.alert.cleared_at = a.cleared_at.value_or(0);
            break;
        case AlertEvent::Kind::acked:
            c.kind = store::AlertChange::Kind::acked;
            c.alert.acked_at = a.acked_at.value_or(0);
            break;
        }
        changes.push_back(std::move(c));
    }
    return writer.add_alert_changes(std::move(changes));
}

} // namespace fleetscope::alerts
