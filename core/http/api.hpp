// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "core/auth/operator_access.hpp"
#include "core/http/arena.hpp"
#include "core/settings.hpp"

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory_resource>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace fleetscope::store {
class Store;
}
namespace fleetscope::runtime {
class BlockingPool;
}
namespace fleetscope::metrics {
class Registry;
}
namespace fleetscope::alerts {
class Engine;
}

namespace fleetscope::http {

namespace bhttp = boost::beast::http;
/// Requests and responses allocate from the connection fiber's per-request arena (a monotonic buffer on its
/// stack), so header fields and small bodies cost no heap allocation.
using Allocator = ArenaAllocator<char>;
using Fields = bhttp::basic_fields<Allocator>;
using Body = bhttp::basic_string_body<char, std::char_traits<char>, Allocator>;
using Request = bhttp::request<Body, Fields>;
using Response = bhttp::response<Body, Fields>;

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

/// What one connection remembers between requests: the device it posts for, so that its close updates
/// ConnectedDevices, and whether its peer is on loopback (auth::is_loopback_peer: local peers need no
/// operator token). Owned by the connection's fiber.
struct ConnectionState {
    std::string device;
    bool loopback = true;
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
    std::string gateway_name; // reported by /v1/devices for the devices this gateway holds
};

/// Routing and the endpoints of DESIGN.md's HTTP API. Stateless apart from its services: one instance serves
/// every worker; `handle` runs on the calling connection's fiber and parks it while the store commits.
class Api {
public:
    explicit Api(Services services);

    /// Checks made once the header is read and before any body byte is buffered: route, method, Content-Type,
    /// Content-Length presence and size. Returns the error response, or nothing when the body may be read.
    std::optional<Response> check_header(const Request& header) const;

    /// Answers a complete request. Call from a fiber on a worker thread.
    Response handle(const Request& request, ConnectionState& connection);

    /// A connection closed: it no longer makes its device connected. Any worker thread.
    void on_close(const ConnectionState& connection);

    /// A JSON error response: {"error": message}. 503 carries Retry-After.
    Response error(bhttp::status status, std::string_view message, const Request& request) const;

    const Settings& settings() const { return services_.settings; }
    bool draining() const;

    /// The operator rule (auth::OperatorPolicy) applied to a request: nothing when it may proceed, else the
    /// 401 or 403 to answer. Every operator endpoint goes through it: device and sample reads, alerts and
    /// their acknowledgement.
    std::optional<Response> require_operator(const Request& request, const ConnectionState& connection) const;

private:
    /// 413 when an announced Content-Length exceeds max-body-bytes.
    std::optional<Response> check_length(const Request& header) const;
    Response post_telemetry(const Request& request, ConnectionState& connection);
    Response get_devices(const Request& request);
    Response get_samples(const Request& request);
    /// 503 for a query the store could not run (it threw StoreError).
    Response read_failed(const Request& request) const;
    Response get_alerts(const Request& request);
    Response ack_alert(const Request& request, std::string_view id);
    Response reply(bhttp::status status, std::string body, std::string_view content_type,
                   const Request& request) const;

    Services services_;
};

} // namespace fleetscope::http
