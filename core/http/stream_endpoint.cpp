// SPDX-License-Identifier: GPL-3.0-or-later
// GET /v1/stream (docs/architecture.md, "The remote feed"): Api::open_stream admits a subscriber within
// stream-subscribers and hands the connection an EventStream. Kept apart from api.cpp, whose routes answer
// complete responses.
#include "core/alerts/alerts.hpp"
#include "core/http/api.hpp"
#include "core/http/event_stream.hpp"
#include "core/metrics/hub.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace fleetscope::http {

namespace json = boost::json;

net::Reply Api::open_stream(const Request& request, net::Session&, Params)
{
    const Settings& s = services_.settings;
    if (!services_.hub)
        return error(bhttp::status::service_unavailable, "this gateway serves no event stream", request);
    // A slot is taken before anything is subscribed, and the EventStream gives it back when it ends.
    if (streams_.fetch_add(1, std::memory_order_relaxed) >= s.stream_subscribers) {
        streams_.fetch_sub(1, std::memory_order_relaxed);
        return error(bhttp::status::service_unavailable,
                     "too many stream subscribers: stream-subscribers = " +
                         std::to_string(s.stream_subscribers) + " are open; retry later",
                     request);
    }
    // Subscribed before the hello is built, so no alert event falls between the list and the feed (the
    // feed's first events may repeat the list).
    auto alert_feed = services_.alerts ? services_.alerts->subscribe(s.subscriber_queue) : nullptr;
    json::object hello;
    hello["gateway"] = services_.gateway_name;
    hello["version"] = FLEETSCOPE_VERSION;
    hello["sample_interval_ms"] = s.sample_interval.count();
    hello["stream_interval_ms"] = s.stream_interval.count();
    hello["alerts"] = services_.alerts
                          ? json::parse(alerts::alerts_json(*services_.alerts, 0))
                          : json::value(json::object{{"active", json::array()}, {"recent", json::array()}});
    EventStream::Options options{json::serialize(hello), s.stream_interval};
    auto stream = std::make_unique<EventStream>(
        std::move(options), services_.hub->subscribe(s.subscriber_queue), std::move(alert_feed), streams_);

    Response head = net::make_response(bhttp::status::ok, {}, "text/event-stream", request);
    head.set(bhttp::field::cache_control, "no-cache");
    // The connection frames a GET's body itself (chunked, or to the close); a HEAD gets the same header
    // fields (RFC 9110 9.3.2), though no stream runs for it.
    head.erase(bhttp::field::content_length);
    if (request.method() == bhttp::verb::head && request.version() >= 11)
        head.chunked(true);
    if (draining())
        head.keep_alive(false);
    return net::Reply(std::move(head), std::move(stream));
}

} // namespace fleetscope::http
