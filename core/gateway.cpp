// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/gateway.hpp"

#include "core/alerts/alerts.hpp"
#include "core/auth/operator_access.hpp"
#include "core/auth/tokens.hpp"
#include "core/http/api.hpp"
#include "core/ingest/mqtt_ingester.hpp"
#include "core/metrics/histogram.hpp"
#include "core/metrics/ingest_counters.hpp"
#include "core/metrics/prometheus.hpp"
#include "core/metrics/registry.hpp"
#include "core/metrics/system.hpp"
#include "core/net/listener.hpp"
#include "core/net/server.hpp"
#include "core/net/tls.hpp"
#include "core/runtime/blocking.hpp"
#include "core/runtime/worker.hpp"
#include "core/store/store.hpp"
#include "core/store/timeline.hpp"
#include "core/util/clock.hpp"

#include <boost/asio/ssl/context.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <tuple>
#include <utility>

namespace fleetscope {

namespace {

/// File descriptors kept out of the connection ceiling: the database and its WAL, readers, the listener,
/// epoll and eventfds, stdio and a margin for /proc reads.
constexpr std::uint64_t kReservedFds = 64;

/// p50 and p99 in ms of what `now` recorded since `prev`, which then becomes `now`: the snapshots show each
/// interval's latencies, not the whole run's.
std::pair<double, double> p50_p99_since(const metrics::HistogramCounts& now, metrics::HistogramCounts& prev)
{
    const auto interval = metrics::diff(now, prev);
    prev = now;
    return {metrics::percentile(interval, 0.50), metrics::percentile(interval, 0.99)};
}

} // namespace

struct Gateway::Impl {
    explicit Impl(Settings s)
        : settings(std::move(s))
        , alerts(alerts::Engine::Options{0, settings.alerts_recent,
                                         [this](std::span<const alerts::AlertEvent> events) {
                                             if (auto* st = alerts_store.load(std::memory_order_acquire))
                                                 alerts::persist(*st, events);
                                         }})
    {}

    Settings settings;
    std::string db_path;
    std::uint64_t fd_limit = 0;
    std::uint64_t ceiling = 0;
    std::chrono::steady_clock::time_point started;
    double process_started = -1; // seconds since the epoch: it never changes, so it is read once

    metrics::Hub hub;
    // Evaluated on the writer thread (as samples commit) and the sampler thread; its events are recorded
    // through alerts_store, which is set while the store runs.
    alerts::Engine alerts;
    std::atomic<store::Writer*> alerts_store{nullptr};
    std::unique_ptr<store::Store> store;
    std::unique_ptr<metrics::Registry> registry;
    std::unique_ptr<runtime::Runtime> runtime;
    std::unique_ptr<runtime::BlockingPool> blocking;
    http::ConnectedDevices connected;
    std::unique_ptr<auth::TokenTable> tokens;
    std::unique_ptr<auth::TokenTable> operator_tokens;
    std::unique_ptr<boost::asio::ssl::context> tls;
    std::unique_ptr<http::Api> api;
    std::unique_ptr<net::Listener> listener;
    std::unique_ptr<net::Server> server;
    metrics::IngestCounters ingest_counters;    // line protocol (the Api) and MQTT
    std::unique_ptr<ingest::MqttIngester> mqtt; // with --mqtt-broker

    // The sampler thread: builds a Snapshot every sample interval and publishes it.
    std::thread sampler;
    std::mutex sampler_mutex;
    std::condition_variable sampler_cv;
    bool sampler_stop = false;
    mutable std::mutex latest_mutex;
    metrics::Snapshot latest;
    bool running = false;
    std::atomic<bool> draining{false}; // read by the Api on worker threads
    std::string name;                  // gateway_name(settings), resolved once

    // Sampler-thread state: the histogram counts at the previous snapshot, for per-interval percentiles.
    metrics::HistogramCounts prev_ack;
    metrics::HistogramCounts prev_commit;
    // Sampler-thread state: the metric timeline persisted with the session.
    std::optional<store::TimelineDeriver> timeline;

    metrics::Snapshot build_snapshot();
    void run_sampler();
    std::string health_json();
};

metrics::Snapshot Gateway::Impl::build_snapshot()
{
    metrics::Snapshot s;
    s.at_ms = util::now_ms();
    s.uptime_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started)
            .count();

    const auto totals = registry->totals();
    s.connections_open = server->connections_open();
    s.accepted_total = totals.accepts;
    s.accept_backoffs = server->accept_backoffs();
    s.connection_ceiling = ceiling;
    s.fd_limit = fd_limit;
    s.open_fds = static_cast<std::uint64_t>(std::max<std::int64_t>(0, metrics::open_fd_count()));

    const auto q = listener->with_handle([](int fd) { return metrics::sample_listen_queue(fd); });
    s.listen_queue = q.queue;
    s.listen_queue_limit = q.limit;
    const auto lc = metrics::read_listen_counters();
    s.listen_overflows = lc.overflows;
    s.listen_drops = lc.drops;

    s.responses_by_class = totals.responses_by_class;
    s.samples_committed = totals.samples_committed;
    std::tie(s.ack_p50_ms, s.ack_p99_ms) = p50_p99_since(totals.ack_latency, prev_ack);
    s.ack_latency = metrics::LatencyBuckets::from(totals.ack_latency);
    s.samples_rejected = totals.samples_rejected;
    s.devices_connected = connected.size();

    s.workers.reserve(runtime->size());
    for (std::size_t i = 0; i < runtime->size(); ++i) {
        const auto& c = runtime->worker(i).counters();
        metrics::WorkerSnapshot w;
        w.ready_depth = c.ready_depth.load(std::memory_order_relaxed);
        w.fibers_alive = c.fibers_alive.load(std::memory_order_relaxed);
        w.context_switches = c.context_switches.load(std::memory_order_relaxed);
        w.idle_ns = c.idle_ns.load(std::memory_order_relaxed);
        w.connections = c.connections.load(std::memory_order_relaxed);
        w.parked = c.parked.load(std::memory_order_relaxed);
        s.workers.push_back(w);
    }

    const auto st = store->writer().stats();
    s.store_queue = st.queue_samples;
    s.store_batches = st.batches;
    s.store_last_batch = st.last_batch_samples;
    std::tie(s.commit_p50_ms, s.commit_p99_ms) = p50_p99_since(st.commit_latency, prev_commit);
    s.commit_latency = metrics::LatencyBuckets::from(st.commit_latency);
    s.database_bytes = store->disk_bytes();

    const auto memory = metrics::process_memory();
    auto load = [](const std::atomic<std::uint64_t>& c) { return c.load(std::memory_order_relaxed); };
    s.line_protocol_samples = load(ingest_counters.line_protocol_samples);
    s.line_protocol_strings = load(ingest_counters.line_protocol_strings);
    s.mqtt_link = ingest_counters.mqtt_link.load(std::memory_order_relaxed);
    s.mqtt_messages = load(ingest_counters.mqtt_messages);
    s.mqtt_committed = load(ingest_counters.mqtt_committed);
    s.mqtt_invalid = load(ingest_counters.mqtt_invalid);
    s.mqtt_connects = load(ingest_counters.mqtt_connects);
    s.samples_committed += load(ingest_counters.mqtt_samples_committed); // the HTTP routes count their own

    s.rss_bytes = static_cast<std::uint64_t>(std::max<std::int64_t>(0, memory.resident));
    s.virtual_memory_bytes = memory.virtual_size;
    s.cpu_seconds = metrics::process_cpu_seconds();
    s.start_time_seconds = process_started;
    return s;
}

void Gateway::Impl::run_sampler()
{
    std::unique_lock lk(sampler_mutex);
    while (!sampler_stop) {
        lk.unlock();
        auto snap = build_snapshot();
        alerts.on_snapshot(snap);
        hub.publish_snapshot(snap);
        if (timeline) {
            // One write job per point set; the writer runs it after its next group commit.
            if (auto points = timeline->push(snap); !points.empty())
                store->writer().add_timeline(std::move(points));
        }
        {
            std::lock_guard g(latest_mutex);
            latest = std::move(snap);
        }
        lk.lock();
        sampler_cv.wait_for(lk, settings.sample_interval, [this] { return sampler_stop; });
    }
}

std::string Gateway::Impl::health_json()
{
    boost::json::object o;
    o["status"] = draining.load(std::memory_order_relaxed) ? "draining" : "ok";
    o["gateway"] = name;
    o["version"] = FLEETSCOPE_VERSION;
    o["uptime_ms"] =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started)
            .count();
    o["connections"] = server->connections_open();
    o["connection_ceiling"] = ceiling;
    o["workers"] = runtime->size();
    return boost::json::serialize(o);
}

Gateway::Gateway(Settings settings)
    : impl_(std::make_unique<Impl>(std::move(settings)))
{}

Gateway::~Gateway()
{
    stop();
}

void Gateway::start()
{
    auto& d = *impl_;
    if (d.running)
        return;
    if (auto valid = validate(d.settings); !valid)
        throw std::runtime_error("invalid setting: " + valid.error());
    d.name = gateway_name(d.settings);
    d.draining.store(false);
    // Access control is read before anything starts, so a bad token file or certificate stops the start.
    auto load_tokens = [](const std::string& path,
                          auth::TokenFile kind) -> std::unique_ptr<auth::TokenTable> {
        if (path.empty())
            return nullptr;
        auto table = auth::TokenTable::load(path, kind);
        if (!table)
            throw std::runtime_error(table.error());
        return std::make_unique<auth::TokenTable>(std::move(table).value());
    };
    d.tokens = load_tokens(d.settings.token_file, auth::TokenFile::devices);
    d.operator_tokens = load_tokens(d.settings.operator_token_file, auth::TokenFile::operators);
    d.tls = d.settings.tls_cert.empty() ? nullptr
                                        : net::make_tls_context(d.settings.tls_cert, d.settings.tls_key);

    // Go's habit: raise the soft descriptor limit to the hard one, then derive the connection ceiling from
    // it.
    const auto limit = metrics::raise_fd_limit();
    d.fd_limit = limit > 0 ? static_cast<std::uint64_t>(limit) : 0;
    const std::uint64_t fd_ceiling = d.fd_limit > kReservedFds ? d.fd_limit - kReservedFds : 1024;
    d.ceiling = d.settings.max_connections == 0
                    ? fd_ceiling
                    : std::min<std::uint64_t>(d.settings.max_connections, fd_ceiling);

    auto rules = alerts::load_rules(alerts::rules_path(d.settings));
    if (!rules)
        throw std::runtime_error(rules.error());

    auto opts = store::Options::from(d.settings);
    d.db_path = opts.path;
    d.store = store::open_store(opts);
    store::Writer& writer = d.store->writer();
    d.alerts.set_session(writer.session_id());
    if (auto applied = d.alerts.set_rules(std::move(rules).value(), util::now_ms()); !applied)
        throw std::runtime_error(applied.error());
    d.alerts_store.store(&writer, std::memory_order_release);
    writer.set_observer([&d](std::span<const telemetry::Sample> batch) {
        d.hub.publish_updates(batch);
        d.alerts.on_samples(batch, util::now_ms());
    });

    const unsigned n = resolved_workers(d.settings);
    d.registry = std::make_unique<metrics::Registry>(n);
    d.runtime = std::make_unique<runtime::Runtime>(
        n, runtime::WorkerOptions{d.settings.fiber_stack_bytes, d.settings.stack_cache_per_worker});
    d.blocking = std::make_unique<runtime::BlockingPool>(2);
    d.api = std::make_unique<http::Api>(http::Services{
        *d.store, *d.blocking, *d.registry, d.connected, d.settings,
        [this, &d] {
            return metrics::prometheus_text(snapshot()) + alerts::prometheus_text(d.alerts.active_counts());
        },
        [&d] { return d.health_json(); }, d.tokens.get(), &d.alerts,
        auth::OperatorPolicy{auth::access_control_enabled(d.settings), d.operator_tokens.get()}, &d.draining,
        d.name, &d.hub, &d.ingest_counters});

    try {
        d.listener =
            std::make_unique<net::Listener>(d.runtime->worker(0).io(), d.settings.listen, d.settings.backlog);
        if (!d.settings.mqtt_broker.empty()) {
            d.mqtt = std::make_unique<ingest::MqttIngester>(d.settings, writer, d.ingest_counters,
                                                            ingest::MqttIngester::state_dir(d.settings));
            d.mqtt->start();
        }
    } catch (...) {
        d.mqtt.reset();
        d.alerts_store.store(nullptr, std::memory_order_release);
        d.store->writer().stop();
        throw;
    }
    d.server =
        std::make_unique<net::Server>(*d.runtime, *d.api, *d.registry, d.settings, d.ceiling, d.tls.get());
    d.started = std::chrono::steady_clock::now();
    d.process_started = metrics::process_start_time_seconds();
    d.runtime->start();
    d.server->start(*d.listener);

    d.sampler_stop = false;
    d.timeline.reset();
    if (d.settings.timeline_interval.count() > 0)
        d.timeline.emplace(d.settings.timeline_interval);
    d.latest = d.build_snapshot();
    d.sampler = std::thread([&d] { d.run_sampler(); });
    d.running = true;
}

void Gateway::stop()
{
    auto& d = *impl_;
    if (!d.running)
        return;
    d.running = false;
    d.mqtt.reset(); // commits what it received, while the store still runs
    d.server->stop();
    d.runtime->stop();
    d.runtime->join(); // every connection fiber has finished its request and closed
    {
        std::lock_guard lk(d.sampler_mutex);
        d.sampler_stop = true;
    }
    d.sampler_cv.notify_one();
    d.sampler.join();
    {
        std::lock_guard lk(d.latest_mutex);
        d.latest = d.build_snapshot(); // the run's final figures, for whoever asks after stop
    }
    d.store->writer().stop(); // commits whatever is queued (nothing is: every request was answered)
    // The blocking pool's threads post their completions to the workers' io_contexts, and Asio's post signals
    // after it unlocks: join them before those io_contexts go, as the store's writer is joined above.
    d.blocking.reset();
    d.server.reset();
    d.listener.reset();
    d.runtime.reset();
    d.api.reset();
    d.alerts_store.store(nullptr, std::memory_order_release);
    d.store.reset();
    d.tls.reset();
    d.tokens.reset();
    d.operator_tokens.reset();
}

void Gateway::drain()
{
    impl_->draining.store(true, std::memory_order_relaxed);
    if (impl_->running)
        impl_->store->writer().set_draining(true);
}

bool Gateway::draining() const
{
    return impl_->draining.load(std::memory_order_relaxed);
}

const std::string& Gateway::name() const
{
    return impl_->name;
}

bool Gateway::running() const
{
    return impl_->running;
}

std::string Gateway::listening_address() const
{
    return impl_->listener ? impl_->listener->local_address() : std::string{};
}

std::uint16_t Gateway::port() const
{
    return impl_->listener ? impl_->listener->port() : 0;
}

std::uint64_t Gateway::connection_ceiling() const
{
    return impl_->ceiling;
}

int Gateway::effective_backlog() const
{
    return impl_->listener ? impl_->listener->effective_backlog() : 0;
}

const std::string& Gateway::db_path() const
{
    return impl_->db_path;
}

std::string Gateway::store_location() const
{
    return impl_->store ? impl_->store->location() : impl_->db_path;
}

const Settings& Gateway::settings() const
{
    return impl_->settings;
}

bool Gateway::auth_enabled() const
{
    return !impl_->settings.token_file.empty();
}

bool Gateway::tls_enabled() const
{
    return !impl_->settings.tls_cert.empty();
}

std::shared_ptr<metrics::Subscription> Gateway::subscribe()
{
    return impl_->hub.subscribe(impl_->settings.subscriber_queue);
}

metrics::Snapshot Gateway::snapshot() const
{
    std::lock_guard lk(impl_->latest_mutex);
    return impl_->latest;
}

std::int64_t Gateway::session_id() const
{
    return impl_->store ? impl_->store->writer().session_id() : 0;
}

util::Result<void> Gateway::add_mark(const std::string& label, std::int64_t from_ts, std::int64_t to_ts)
{
    if (!impl_->store)
        return util::fail("the gateway is not running; start it before marking a span");
    return impl_->store->writer().add_mark(label, from_ts, to_ts);
}

alerts::Engine& Gateway::alerts()
{
    return impl_->alerts;
}

const alerts::Engine& Gateway::alerts() const
{
    return impl_->alerts;
}

util::Result<void> Gateway::set_alert_rules(std::vector<alerts::Rule> rules)
{
    return impl_->alerts.set_rules(std::move(rules), util::now_ms());
}

std::vector<Gateway::Reloaded> Gateway::reload()
{
    auto& d = *impl_;
    std::vector<Reloaded> out;
    if (!d.running)
        return out;
    // Both token files: a table is replaced whole, so every lookup sees the old one or the new one.
    auto reload_tokens = [&out](auth::TokenTable* table, const std::string& flag, const std::string& path,
                                auth::TokenFile kind, const char* what) {
        if (!table)
            return;
        Reloaded r{flag + " " + path, {}, {}};
        if (auto fresh = auth::TokenTable::load(path, kind); fresh)
            table->replace(std::move(fresh).value());
        else
            r.error = fresh.error();
        r.state = std::to_string(table->size()) + " " + what;
        out.push_back(std::move(r));
    };
    reload_tokens(d.tokens.get(), "token-file", d.settings.token_file, auth::TokenFile::devices,
                  "device tokens");
    reload_tokens(d.operator_tokens.get(), "operator-token-file", d.settings.operator_token_file,
                  auth::TokenFile::operators, "operator tokens");
    const std::string path = alerts::rules_path(d.settings);
    Reloaded r{"alert rules " + path, {}, {}};
    auto rules = alerts::load_rules(path);
    if (!rules)
        r.error = rules.error();
    else if (auto applied = d.alerts.set_rules(std::move(rules).value(), util::now_ms()); !applied)
        r.error = applied.error();
    r.state = std::to_string(d.alerts.rules().size()) + " alert rules";
    out.push_back(std::move(r));
    return out;
}

} // namespace fleetscope
