// SPDX-License-Identifier: GPL-3.0-or-later
// POST /write (InfluxDB 1.x) and POST /api/v2/write (2.x): line protocol into the store, with the promise of
// POST /v1/telemetry (all or nothing, 204 after commit). docs/architecture.md, "Ingest protocols".
#include "core/http/influx_write.hpp"

#include "core/auth/tokens.hpp"
#include "core/http/api.hpp"
#include "core/metrics/ingest_counters.hpp"
#include "core/telemetry/line_protocol.hpp"
#include "core/util/clock.hpp"

#include <boost/url/parse.hpp>

namespace fleetscope::http {

using bhttp::status;

namespace influx {

bool accepts(std::string_view)
{
    return true;
}

std::optional<std::string> token(const net::Request& request)
{
    if (const auto field = request.find(bhttp::field::authorization); field != request.end())
        return auth::influx_credential(field->value());
    auto parsed = boost::urls::parse_origin_form(request.target());
    if (!parsed)
        return std::nullopt;
    for (auto param : parsed->params())
        if (param.key == "p" && !param.value.empty())
            return std::string(param.value);
    return std::nullopt;
}

} // namespace influx

Response Api::post_write(const Request& request, net::Session& session, Params)
{
    const Settings& s = services_.settings;
    telemetry::LineProtocolOptions options;
    options.device_tag = s.influx_device_tag;
    options.now_ms = util::now_ms();
    options.limits = {s.max_samples_per_request, s.max_metrics_per_sample, s.max_json_depth};

    auto parsed = boost::urls::parse_origin_form(request.target());
    if (!parsed)
        return error(status::bad_request, "malformed request target: " + parsed.error().message(), request);
    // db, rp, org and bucket name InfluxDB's storage; the gateway has one store, so they are accepted and
    // ignored, as are parameters of other clients' versions.
    for (auto param : parsed->params()) {
        if (param.key != "precision")
            continue;
        const auto precision = telemetry::parse_precision(param.value);
        if (!precision)
            return error(status::bad_request,
                         "precision " + telemetry::quoted(param.value) +
                             ": expected ns, us, ms, s (or n, u, m, h as InfluxDB 1.x spells them)",
                         request);
        options.precision = *precision;
    }

    auto result = telemetry::decode_line_protocol(request.body(), options);
    if (!result)
        return error(status::bad_request, result.error(), request);
    telemetry::LineProtocolSamples& decoded = *result;
    if (services_.ingest)
        metrics::IngestCounters::add(services_.ingest->line_protocol_strings, decoded.strings_skipped);
    if (decoded.samples.empty()) // comments and string fields only: nothing to store, nothing failed
        return reply(status::no_content, {}, {}, request);

    const auto n = decoded.samples.size();
    const auto credential = services_.tokens ? influx::token(request) : std::nullopt;
    Response res = store_samples(std::move(decoded.samples),
                                 credential ? std::optional<std::string_view>(*credential) : std::nullopt,
                                 request, session);
    if (res.result() == status::no_content && services_.ingest)
        metrics::IngestCounters::add(services_.ingest->line_protocol_samples, n);
    return res;
}

} // namespace fleetscope::http
