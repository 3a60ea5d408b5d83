// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/ingest/mqtt_payload.hpp"

#include "core/settings.hpp"
#include "core/telemetry/codec.hpp"
#include "core/telemetry/line_protocol.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace fleetscope::ingest {

namespace json = boost::json;

std::vector<std::string> split_topics(std::string_view list)
{
    std::vector<std::string> out;
    while (!list.empty()) {
        const auto comma = list.find(',');
        std::string_view item = list.substr(0, comma);
        while (!item.empty() && item.front() == ' ')
            item.remove_prefix(1);
        while (!item.empty() && item.back() == ' ')
            item.remove_suffix(1);
        if (!item.empty())
            out.emplace_back(item);
        list.remove_prefix(comma == std::string_view::npos ? list.size() : comma + 1);
    }
    return out;
}

bool topic_matches(std::string_view filter, std::string_view topic)
{
    for (;;) {
        const auto f_end = filter.find('/');
        const auto t_end = topic.find('/');
        const std::string_view f = filter.substr(0, f_end);
        const std::string_view t = topic.substr(0, t_end);
        if (f == "#")
            return true;
        if (f != "+" && f != t)
            return false;
        if (f_end == std::string_view::npos || t_end == std::string_view::npos)
            // "a/#" also matches "a", its parent level.
            return f_end == t_end || (t_end == std::string_view::npos && filter.substr(f_end + 1) == "#");
        filter.remove_prefix(f_end + 1);
        topic.remove_prefix(t_end + 1);
    }
}

std::string device_from_topic(const std::vector<std::string>& filters, std::string_view topic)
{
    for (const auto& filter : filters) {
        if (!topic_matches(filter, topic))
            continue;
        std::string_view f = filter;
        std::string_view t = topic;
        while (!f.empty()) {
            const std::string_view fs = f.substr(0, f.find('/'));
            const std::string_view ts = t.substr(0, t.find('/'));
            if (fs == "+")
                return std::string(ts);
            f.remove_prefix(std::min(f.size(), fs.size() + 1));
            t.remove_prefix(std::min(t.size(), ts.size() + 1));
        }
    }
    return {};
}

namespace {

/// A JSON payload: each sample object without a device gets the topic's; one naming another is refused.
util::Result<PayloadSamples> decode_json(std::string_view payload, std::string_view topic_device,
                                         std::int64_t now_ms, const Settings& s)
{
    const telemetry::DecodeLimits limits{s.max_samples_per_request, s.max_metrics_per_sample,
                                         s.max_json_depth};
    std::string rewritten;
    if (!topic_device.empty()) {
        boost::system::error_code ec;
        json::parse_options options;
        options.max_depth = s.max_json_depth;
        json::value v = json::parse(payload, ec, {}, options);
        if (!ec) {
            auto fill = [&](json::value& sample) {
                auto* o = sample.if_object();
                if (!o)
                    return true;
                const auto* named = o->if_contains("device");
                if (!named) {
                    (*o)["device"] = topic_device;
                    return true;
                }
                return !named->is_string() || named->get_string() == topic_device;
            };
            bool same = true;
            if (auto* a = v.if_array())
                for (auto& e : *a)
                    same = fill(e) && same;
            else
                same = fill(v);
            if (!same)
                return util::fail("a sample names a device other than the topic's '" +
                                  std::string(topic_device) + "'");
            rewritten = json::serialize(v);
            payload = rewritten;
        }
        // A payload that does not parse is left to decode_samples, whose message says where and why.
    }
    auto decoded = telemetry::decode_samples(payload, now_ms, limits);
    if (!decoded)
        return util::fail(decoded.error());
    return PayloadSamples{std::move(decoded).value(), 0};
}

/// A line-protocol payload: every line's device must be the topic's, when the topic names one.
util::Result<PayloadSamples> decode_lines(std::string_view payload, std::string_view topic_device,
                                          std::int64_t now_ms, const Settings& settings)
{
    telemetry::LineProtocolOptions o;
    o.device_tag = settings.influx_device_tag;
    o.fallback_device = topic_device;
    o.now_ms = now_ms;
    o.limits = {settings.max_samples_per_request, settings.max_metrics_per_sample, settings.max_json_depth};
    auto decoded = telemetry::decode_line_protocol(payload, o);
    if (!decoded)
        return util::fail(decoded.error());
    if (decoded->samples.empty())
        return util::fail("no reading: the payload is empty, or holds comments and string fields only");
    if (!topic_device.empty())
        for (const auto& sample : decoded->samples)
            if (sample.device != topic_device)
                return util::fail("line protocol names device '" + sample.device + "', the topic '" +
                                  std::string(topic_device) + "'");
    return PayloadSamples{std::move(decoded->samples), decoded->strings_skipped};
}

} // namespace

util::Result<PayloadSamples> decode_payload(std::string_view payload, std::string_view topic_device,
                                            std::int64_t now_ms, const Settings& settings)
{
    if (payload.size() > settings.max_body_bytes)
        return util::fail("payload of " + std::to_string(payload.size()) +
                          " bytes: more than max-body-bytes = " + std::to_string(settings.max_body_bytes));
    std::size_t first = 0;
    while (first < payload.size() && (payload[first] == ' ' || payload[first] == '\t' ||
                                      payload[first] == '\r' || payload[first] == '\n'))
        ++first;
    const bool json = first < payload.size() && (payload[first] == '{' || payload[first] == '[');
    auto r = json ? decode_json(payload, topic_device, now_ms, settings)
                  : decode_lines(payload, topic_device, now_ms, settings);
    if (r)
        for (auto& sample : r->samples)
            sample.source = telemetry::Source::mqtt;
    return r;
}

} // namespace fleetscope::ingest
