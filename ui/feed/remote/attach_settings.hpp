// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "core/settings.hpp"
#include "core/util/result.hpp"

#include <QString>
#include <QStringList>

namespace fleetscope::ui {

/// How the monitor watches remote gateways (`fleetscope --attach URL`), each tunable with its default beside
/// it. The monitor's command line and README's list of its flags come from for_each_attach_setting, as the
/// gateway's settings come from for_each_setting. Plain value type.
struct AttachSettings {
    QStringList urls;             // the gateways' base URLs, e.g. http://gw-a:8080 (repeatable --attach)
    QString operator_token_file;  // a file whose first line is an operator token; empty: send none
    Millis retry_min{500};        // the first reconnect waits this long, doubling after each failure...
    Millis retry_max{30'000};     // ...up to this
    Millis stall_timeout{10'000}; // a stream silent this long (it sends every stream-interval) is gone
};

/// Calls f(info, field) for the tunables of `s` (not the URLs or the token file, which have flags of their
/// own); `field` is a Millis.
template <class S, class F>
void for_each_attach_setting(S& s, F&& f)
{
    f(SettingInfo{"attach-retry-min", "ms",
                  "first wait before reconnecting to a gateway that went away; "
                  "it doubles after each failed attempt"},
      s.retry_min);
    f(SettingInfo{"attach-retry-max", "ms", "longest wait between reconnection attempts"}, s.retry_max);
    f(SettingInfo{"attach-stall-timeout", "ms",
                  "a gateway whose stream sent nothing for this long is shown gone and reconnected"},
      s.stall_timeout);
}

/// Nothing when `s` is usable, else what is wrong.
inline util::Result<void> validate(const AttachSettings& s)
{
    if (s.retry_min.count() < 10)
        return util::fail("attach-retry-min: at least 10 ms");
    if (s.retry_max < s.retry_min)
        return util::fail("attach-retry-max: at least attach-retry-min");
    if (s.stall_timeout.count() < 100)
        return util::fail("attach-stall-timeout: at least 100 ms");
    return {};
}

} // namespace fleetscope::ui
