// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "core/auth/operator_access.hpp"
#include "core/net/handler.hpp"
#include "core/settings.hpp"

#include <array>
#include <atomic>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace fleetscope::store {
class Store;
}
namespace fleetscope::runtime {
class BlockingPool;
}
namespace fleetscope::metrics {
class Hub;
class Registry;
struct IngestCounters;
} // namespace fleetscope::metrics
namespace fleetscope::telemetry {
struct Sample;
}
namespace fleetscope::alerts {
class Engine;
}

namespace fleetscope::http {

namespace bhttp = boost::beast::http;
using net::Request;
using net::Response;

/// Devices that have an open connection which posted for them, with a count per device. Thread-safe: a
/// sharded mutex map, touched on a connection's first post for a device and when it closes, never per
/// request.
class ConnectedDevices {
public:
    /// True when this is the device's first connection (add) or its last one went (remove).
    bool add(const std::string& device);
    bool remove(const std::string& device);
    bool contains(const std::string& device) const;
    std::size_t size() const;

private:
    struct Shard {
        mutable std::mutex mutex;
        std::unordered_map<std::string, unsigned> count;
    };
    Shard& shard(const std::string& device) const;
    mutable std::array<Shard, 16> shards_;
};

/// What the endpoints use; all outlive the Api.
struct Services {
    store::Store& store; // telemetry through its writer(), the reads through its reader()
    runtime::BlockingPool& blocking;
    metrics::Registry& metrics;
    ConnectedDevices& connected;
    Settings settings;
    std::function<std::string()> metrics_text; // Prometheus exposition of a fresh snapshot
    std::function<std::string()> health_json;  // the body of GET /healthz
    const auth::TokenTable* tokens = nullptr;  // device tokens; null: POST /v1/telemetry needs none
    alerts::Engine* alerts = nullptr;          // GET /v1/alerts, POST /v1/alerts/{id}/ack; null: none
    auth::OperatorPolicy operators;            // who may read the fleet and act on alerts from afar
    // Set while the gateway drains (Gateway::drain): /healthz answers 503 and every response closes its
    // connection, so a balancer sends devices elsewhere. Null: never.
    const std::atomic<bool>* draining = nullptr;
    std::string gateway_name;    // reported by /v1/devices for the devices this gateway holds
    metrics::Hub* hub = nullptr; // GET /v1/stream subscribes to it; null: the stream answers 503
    metrics::IngestCounters* ingest = nullptr; // line-protocol counters; null: not counted
};

/// Routing and the endpoints of the HTTP API (README.md): the gateway's net::Handler. Stateless apart from
/// its services: one instance serves every worker; each call runs on the calling connection's fiber, and
/// post_telemetry parks it while the store commits. The routes are one table (api.cpp, kRoutes).
class Api final : public net::Handler {
public:
    explicit Api(Services services);

    /// A connection opened: whether its peer counts as local (auth::is_loopback_peer), which spares it the
    /// operator token.
    void on_open(net::Session& session, const boost::asio::ip::address& peer) override;

    /// Checks made once the header is read and before any body byte is buffered, for the routes whose body
    /// is their input: method, Content-Type, device token, Content-Length presence, preconditions.
    std::optional<Response> check_header(const Request& header, net::Session& session) override;

    /// Answers a complete request. HEAD is answered as GET wherever GET is; the connection sends no content.
    net::Reply handle(Request& request, net::Session& session) override;

    /// A connection closed: it no longer makes its device connected. Any worker thread.
    void on_close(net::Session& session) noexcept override;

    /// A JSON error response: {"error": message}. 503 carries Retry-After, 401 WWW-Authenticate.
    Response error(bhttp::status status, std::string_view message, const Request& request) const;

    const Settings& settings() const { return services_.settings; }
    bool draining() const;

    /// The {name} segments of a route's pattern, as the request's path has them (not percent-decoded).
    using Params = std::span<const std::string_view>;

    /// One endpoint: a method (GET routes answer HEAD too) and a path pattern whose {name} segments match
    /// one non-empty segment each.
    struct Route {
        bhttp::verb method;
        std::string_view pattern;
        Response (Api::*serve)(const Request&, net::Session&, Params);
        /// The body is the route's input, checked before it is read: the media types it accepts (null: the
        /// body is not read as input, only discarded) and how to name them.
        bool (*accepts)(std::string_view content_type) = nullptr;
        std::string_view accepted = {};
        bool operator_only = false; // fleet reads and alert actions: require_operator applies
        /// A route whose body is written over time (GET /v1/stream) answers through this instead of serve.
        net::Reply (Api::*stream)(const Request&, net::Session&, Params) = nullptr;
        /// Where the device token is, when tokens are on: null, `Authorization: Bearer`; else this function
        /// (InfluxDB's writes also take `Token`, Basic and the `p` parameter), nothing when absent.
        std::optional<std::string> (*credential)(const Request&) = nullptr;
    };

    /// The routes, in the order a 404 lists them.
    static std::span<const Route> routes();

    /// The operator rule (auth::OperatorPolicy) applied to a request: nothing when it may proceed, else the
    /// 401 or 403 to answer. Every operator endpoint (Route::operator_only) goes through it: device and
    /// sample reads, alerts and their acknowledgement, the event stream.
    std::optional<Response> require_operator(const Request& request, const net::Session& session) const;

    /// GET /v1/stream subscribers now, at most stream-subscribers. Any thread.
    std::size_t streams() const { return streams_.load(std::memory_order_relaxed); }

private:
    // GET /v1/stream, in stream_endpoint.cpp.
    net::Reply open_stream(const Request& request, net::Session& session, Params params);
    Response post_telemetry(const Request& request, net::Session& session, Params params);
    Response get_health(const Request& request, net::Session& session, Params params);
    Response get_metrics(const Request& request, net::Session& session, Params params);
    Response get_openapi(const Request& request, net::Session& session, Params params);
    Response get_devices(const Request& request, net::Session& session, Params params);
    Response get_samples(const Request& request, net::Session& session, Params params);
    Response get_alerts(const Request& request, net::Session& session, Params params);
    Response ack_alert(const Request& request, net::Session& session, Params params);
    // InfluxDB line protocol, influx_write.cpp.
    Response post_write(const Request& request, net::Session& session, Params params);

    /// Checks the device token against every sample's device, then commits them and answers 204, or answers
    /// why nothing was stored. `token` is the request's credential (nothing: none sent); unused when tokens
    /// are off.
    Response store_samples(std::vector<telemetry::Sample>&& samples, std::optional<std::string_view> token,
                           const Request& request, net::Session& session);

    /// The header checks of a route whose body is its input (check_header).
    std::optional<Response> check_input(const Route& route, const Request& header) const;
    /// 405 with Allow: the methods of the routes of `path`.
    Response method_not_allowed(std::string_view path, const Request& request) const;
    /// 503 for a query the store could not run (it threw StoreError).
    Response read_failed(const Request& request) const;
    Response reply(bhttp::status status, std::string_view body, std::string_view content_type,
                   const Request& request) const;

    Services services_;
    std::atomic<std::size_t> streams_{0}; // open GET /v1/stream bodies (EventStream holds a slot)
};

} // namespace fleetscope::http
