// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/store/pg/pg_store.hpp"

#include "core/store/pg/connection.hpp"
#include "core/store/pg/copy_encoder.hpp"
#include "core/store/pg/ids.hpp"
#include "core/store/pg/partitions.hpp"
#include "core/store/pg/pg_reader.hpp"
#include "core/store/pg/schema.hpp"
#include "core/util/clock.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <future>
#include <limits>
#include <map>
#include <mutex>
#include <thread>
#include <tuple>
#include <unordered_map>

// The write path (docs/architecture.md, "Scale-out"): the writer takes whole requests up to max-batch samples
// and commits them in one transaction:
//   BEGIN; COPY samples FROM STDIN (binary)   one round trip to start, the rows (one per sample) streamed
//   UPDATE devices ... FROM unnest(...); COMMIT    one round trip (a pipeline); the devices' totals
// then answers every request of the batch. Names become ids before the transaction (ids.hpp), and the days
// the batch touches get their partitions first (partitions.hpp), so the transaction itself only appends.

namespace fleetscope::store::pg {

namespace json = boost::json;

namespace {

using Clock = std::chrono::steady_clock;

// How often the gateway's heartbeat is written, and partitions made ahead.
constexpr Millis kHeartbeatPeriod{1'000};
constexpr Millis kUpkeepPeriod{60'000};
constexpr Millis kSizePeriod{10'000}; // how often the writer reads the database's size
// How often retention runs, and how many default-partition rows one of its statements deletes.
constexpr Millis kRetentionPeriod{600'000};
constexpr std::int64_t kRetentionSlice = 10'000;
// Reconnection attempts after an outage: the first at once, then doubling up to the cap.
constexpr Millis kFirstReconnect{100};
constexpr Millis kMaxReconnect{1'000};
// A batch that meets a deadlock or serialization failure (two gateways updating the same devices) runs again.
constexpr int kBatchAttempts = 3;

struct Request {
    std::vector<telemetry::Sample> samples;
    CommitCallback done;
};

/// A write other than telemetry, run by the writer in a transaction of its own.
using Job = std::function<void(Connection&)>;

struct DeviceDelta {
    std::int64_t first = std::numeric_limits<std::int64_t>::max();
    std::int64_t last = std::numeric_limits<std::int64_t>::min();
    std::int64_t samples = 0;
};

/// The devices' totals of one batch, as arrays in device id order (prepared once per connection).
constexpr const char* kUpdateDevicesName = "fleetscope_update_devices";
constexpr const char* kUpdateDevices =
    "UPDATE devices AS d SET first_seen = least(d.first_seen, u.f), last_seen = greatest(d.last_seen, u.l), "
    "samples = d.samples + u.n FROM unnest($1::integer[], $2::bigint[], $3::bigint[], $4::bigint[]) "
    "AS u(id, f, l, n) WHERE d.id = u.id";

/// The retention pass someone waits for (PgStore::run_retention_now).
struct RetentionRequest {
    std::promise<bool> done;
};

} // namespace

Options Options::from(const Settings& s, const std::string& conninfo)
{
    Options o;
    o.conninfo = conninfo;
    o.gateway = gateway_name(s);
    o.queue_samples = s.store_queue_samples;
    o.max_batch_samples = s.max_batch_samples;
    o.statement_timeout = s.store_busy_timeout;
    o.connect_timeout = s.store_connect_timeout;
    o.retention_days = s.retention_days;
    o.app_version = FLEETSCOPE_VERSION;
    json::object settings;
    for_each_setting(s, [&settings](const SettingInfo& info, const auto& field) {
        using T = std::decay_t<decltype(field)>;
        if constexpr (std::is_same_v<T, Millis>)
            settings[info.name] = field.count();
        else
            settings[info.name] = field;
    });
    // A URI may carry a password: the session record keeps only where it points.
    settings["store"] = "postgresql:" + describe(conninfo);
    o.settings_json = json::serialize(settings);
    return o;
}

Options Options::from(const store::Options& o, const std::string& conninfo)
{
    Options p;
    p.conninfo = conninfo;
    p.gateway = o.gateway;
    p.queue_samples = o.queue_samples;
    p.max_batch_samples = o.max_batch_samples;
    p.statement_timeout = o.busy_timeout;
    p.connect_timeout = o.connect_timeout;
    p.retention_days = o.retention_days;
    p.app_version = o.app_version;
    p.settings_json = o.settings_json;
    // A URI may carry a password: the session record keeps only where it points.
    if (!o.settings_json.empty()) {
        boost::system::error_code ec;
        json::value v = json::parse(o.settings_json, ec);
        if (!ec && v.is_object() && v.as_object().contains("store")) {
            v.as_object()["store"] = "postgresql:" + describe(conninfo);
            p.settings_json = json::serialize(v);
        }
    }
    return p;
}

/// The queue is reached by producers under `queue_mutex`; "writer thread only" members belong to the writer
/// (and to the constructor before it starts); stats are atomics written by the writer.
struct PgStore::Impl {
    explicit Impl(Options o)
        : options(std::move(o))
        , target{options.conninfo, options.connect_timeout, options.statement_timeout,
                 "fleetscope-gateway " + options.gateway}
        , location(describe(options.conninfo))
        , reader(target, false)
        , partitions(options.retention_days)
        , encoder(options.copy_format)
    {}

    Options options;
    Target target;
    std::string location; // without the password
    PgReader reader;

    // Queue.
    std::mutex queue_mutex;
    std::condition_variable queue_cv;
    std::deque<Request> queue;
    std::size_t queued_samples = 0;
    std::deque<Job> jobs;
    std::map<std::string, bool> connection_changes; // device -> open, the net effect since the last round
    std::optional<bool> draining;
    std::vector<std::shared_ptr<RetentionRequest>> retention_requests;
    bool stopping = false;
    bool writer_waiting = false;
    CommitObserver observer;

    // Stats.
    std::atomic<std::size_t> stat_queue{0};
    std::atomic<std::uint64_t> stat_batches{0};
    std::atomic<std::uint64_t> stat_samples{0};
    std::atomic<std::uint64_t> stat_requests{0};
    std::atomic<std::uint64_t> stat_rejected{0};
    std::atomic<std::uint64_t> stat_failed{0};
    std::atomic<std::uint32_t> stat_last_batch{0};
    std::atomic<std::uint32_t> stat_last_commit_us{0};
    std::atomic<bool> stat_connected{false};
    metrics::Histogram commit_latency;

    // Writer thread only.
    Connection conn;
    Ids ids;
    Partitions partitions;
    CopyEncoder encoder;
    std::vector<Request> batch;
    std::vector<Job> batch_jobs;
    std::map<std::string, bool> pending_connections; // device -> open, not yet written
    std::optional<bool> batch_draining;
    std::vector<std::shared_ptr<RetentionRequest>> batch_retention;
    std::unordered_map<std::int32_t, DeviceDelta> deltas;
    std::vector<Row> rows;
    std::vector<std::int32_t> row_metrics; // the readings of `rows`
    std::vector<double> row_values;
    bool devices_prepared = false; // kUpdateDevices on the current connection
    std::int64_t session = 0;      // written by the constructor, read by session_id()
    Clock::time_point next_heartbeat{};
    Clock::time_point next_upkeep{};
    Clock::time_point next_size{};
    std::atomic<std::int64_t> database_bytes{-1}; // written by the writer, read by disk_bytes()
    Clock::time_point next_retention{};
    Clock::time_point next_reconnect{};
    Millis reconnect_backoff{0};
    std::uint64_t failed_in_a_row = 0;
    bool outage_logged = false;
    bool heartbeat_lost_logged = false;

    std::mutex stop_mutex;
    std::thread writer;

    void open();
    void begin_session();
    void end_session();
    void run();
    bool take_work();
    /// Connects when the connection is down and the back-off allows; true when it stands.
    bool ensure_connected();
    void lost(const PgError& e);
    CommitStatus write_batch();
    void write_transaction(bool& commit_sent);
    void abort_transaction();
    void run_jobs();
    void write_connections();
    void upkeep();
    bool retention();
    void heartbeat();
    void deliver(CommitStatus status, std::uint32_t us);
};

void PgStore::Impl::open()
{
    conn = Connection::open(target);
    migrate(conn, options.gateway);
    partitions.load(conn);
    const std::int64_t today = day_of(util::now_ms());
    partitions.ensure_ahead(conn, today);
    if (!options.app_version.empty())
        begin_session();
    stat_connected.store(true);
    const auto now = Clock::now();
    next_heartbeat = now + kHeartbeatPeriod;
    next_upkeep = now + kUpkeepPeriod;
    // The first retention pass runs soon after start, not a period later: a gateway restarted daily would
    // otherwise never run one.
    next_retention = now + Millis(5'000);
}

void PgStore::Impl::begin_session()
{
    const std::string& name = options.gateway;
    // Two running gateways must not share a name: their connection lists would overwrite each other. A
    // heartbeat that still moves belongs to a running gateway; one that stopped moving, to a gateway that was
    // killed (then this is its restart).
    const auto heartbeat_of = [&] {
        const Result r = conn.exec("SELECT heartbeat_at FROM gateways WHERE name = $1", {name},
                                   "cannot read the gateway list");
        return r.rows() == 0 ? std::optional<std::int64_t>() : std::optional<std::int64_t>(r.int64(0, 0));
    };
    if (const auto beat = heartbeat_of(); beat && util::now_ms() - *beat < PgReader::kHeartbeatTimeoutMs) {
        std::this_thread::sleep_for(kHeartbeatPeriod * 5 / 2);
        if (heartbeat_of() != beat)
            throw PgError("the gateway name '" + name + "' is in use by a running gateway on " +
                              describe(options.conninfo) +
                              ": give each gateway its own --gateway-name (the default is the host name)",
                          "", false);
    }
    const std::string now = std::to_string(util::now_ms());
    const std::string what = "cannot record the session";
    conn.exec("BEGIN", what);
    try {
        // A session of this gateway still open here ended without stop(): a crash or a kill. Its end is the
        // last heartbeat the gateway wrote.
        conn.exec("UPDATE sessions s SET end_reason = 'crash', ended_at = greatest(s.started_at, coalesce("
                  "(SELECT g.heartbeat_at FROM gateways g WHERE g.name = s.gateway AND g.session_id = s.id), "
                  "s.started_at)) WHERE s.gateway = $1 AND s.ended_at IS NULL",
                  {name}, what);
        const Result r = conn.exec("INSERT INTO sessions(gateway, started_at, app_version, settings) VALUES "
                                   "($1, $2::bigint, $3, $4) RETURNING id",
                                   {name, now, options.app_version, options.settings_json}, what);
        session = r.int64(0, 0);
        conn.exec("INSERT INTO gateways(name, session_id, started_at, heartbeat_at, draining) VALUES "
                  "($1, $2::bigint, $3::bigint, $3::bigint, false) ON CONFLICT (name) DO UPDATE SET "
                  "session_id = excluded.session_id, started_at = excluded.started_at, "
                  "heartbeat_at = excluded.heartbeat_at, draining = false",
                  {name, std::to_string(session), now}, what);
        // Whatever the previous run of this gateway held, it holds no longer.
        conn.exec("DELETE FROM connections WHERE gateway = $1", {name}, what);
        conn.exec("COMMIT", what);
    } catch (...) {
        abort_transaction();
        throw;
    }
}

void PgStore::Impl::end_session()
{
    if (session == 0 || !ensure_connected())
        return;
    try {
        conn.exec("BEGIN", "cannot record the session's end");
        conn.exec("UPDATE sessions SET ended_at = $2::bigint, end_reason = 'stop' WHERE id = $1::bigint",
                  {std::to_string(session), std::to_string(util::now_ms())},
                  "cannot record the session's end");
        conn.exec("DELETE FROM connections WHERE gateway = $1", {options.gateway},
                  "cannot record the session's end");
        // Another gateway reads this row as gone at once, not a heartbeat timeout later.
        conn.exec("UPDATE gateways SET heartbeat_at = 0, draining = true WHERE name = $1 AND session_id = "
                  "$2::bigint",
                  {options.gateway, std::to_string(session)}, "cannot record the session's end");
        conn.exec("COMMIT", "cannot record the session's end");
    } catch (const PgError& e) {
        abort_transaction();
        std::fprintf(stderr, "fleetscope: %s\n", e.what());
    }
}

void PgStore::Impl::abort_transaction()
{
    if (!conn.ok())
        return;
    if (PQpipelineStatus(conn.get()) != PQ_PIPELINE_OFF) {
        // Up to the sync that ends the pipeline, then out of pipeline mode; a connection that will not leave
        // it is dropped (the next batch opens a fresh one).
        for (int i = 0; i < 16 && PQpipelineStatus(conn.get()) != PQ_PIPELINE_OFF; ++i) {
            PGresult* r = PQgetResult(conn.get());
            const bool sync = r && PQresultStatus(r) == PGRES_PIPELINE_SYNC;
            PQclear(r);
            if (sync || !r)
                PQexitPipelineMode(conn.get());
        }
        if (PQpipelineStatus(conn.get()) != PQ_PIPELINE_OFF) {
            conn = Connection();
            devices_prepared = false;
            return;
        }
    }
    // Results still pending (a COPY in progress among them) are consumed first, or libpq refuses the next
    // query.
    while (PGresult* r = PQgetResult(conn.get())) {
        if (PQresultStatus(r) == PGRES_COPY_IN)
            PQputCopyEnd(conn.get(), "aborted by the gateway");
        PQclear(r);
    }
    PQclear(PQexec(conn.get(), "ROLLBACK"));
}

bool PgStore::Impl::ensure_connected()
{
    if (conn.ok())
        return true;
    if (Clock::now() < next_reconnect)
        return false;
    try {
        conn = Connection::open(target);
        devices_prepared = false;
    } catch (const PgError& e) {
        if (!outage_logged)
            std::fprintf(stderr, "fleetscope: store: %s; retrying\n", e.what());
        outage_logged = true;
        reconnect_backoff = std::clamp(reconnect_backoff * 2, kFirstReconnect, kMaxReconnect);
        next_reconnect = Clock::now() + reconnect_backoff;
        return false;
    }
    std::fprintf(stderr, "fleetscope: store: reconnected to %s\n", describe(options.conninfo).c_str());
    outage_logged = false;
    reconnect_backoff = Millis(0);
    stat_connected.store(true);
    // The heartbeat lapsed during the outage; write it now, so that this gateway's connections show again.
    next_heartbeat = Clock::now();
    return true;
}

void PgStore::Impl::lost(const PgError& e)
{
    if (stat_connected.exchange(false))
        std::fprintf(stderr,
                     "fleetscope: store: lost the connection to %s: %s; answering 503 until it is back\n",
                     describe(options.conninfo).c_str(), e.what());
    // A connection libpq still believes in (an error that names an outage on a socket that stays open, such
    // as a shutdown notice) is dropped, so the next attempt opens a fresh one.
    conn = Connection();
    devices_prepared = false;
    next_reconnect = Clock::now();
}

void PgStore::Impl::write_transaction(bool& commit_sent)
{
    PGconn* c = conn.get();
    const std::string begin = std::string("BEGIN; ") + encoder.statement();
    if (!PQsendQuery(c, begin.c_str()))
        throw conn.error(nullptr, "cannot start the batch");
    {
        Result r(PQgetResult(c)); // BEGIN
        if (r.status() != PGRES_COMMAND_OK)
            throw conn.error(r.get(), "cannot start the batch");
    }
    {
        Result r(PQgetResult(c)); // COPY, waiting for rows
        if (r.status() != PGRES_COPY_IN)
            throw conn.error(r.get(), "cannot start the COPY of the batch");
    }
    const std::string& data = encoder.encode(rows, row_metrics, row_values);
    if (PQputCopyData(c, data.data(), static_cast<int>(data.size())) != 1 || PQputCopyEnd(c, nullptr) != 1)
        throw conn.error(nullptr, "cannot send the batch");
    {
        Result r(PQgetResult(c));
        if (r.status() != PGRES_COMMAND_OK)
            throw conn.error(r.get(), "cannot copy the batch");
    }
    while (PGresult* extra = PQgetResult(c))
        PQclear(extra);

    // The devices' totals, in id order (two gateways updating the same devices lock their rows in the same
    // order), and the COMMIT, in one round trip: a pipeline of the prepared UPDATE and the COMMIT.
    if (!devices_prepared) {
        Result r(PQprepare(c, kUpdateDevicesName, kUpdateDevices, 4, nullptr));
        if (r.status() != PGRES_COMMAND_OK)
            throw conn.error(r.get(), "cannot prepare the device update");
        devices_prepared = true;
    }
    std::vector<std::pair<std::int32_t, DeviceDelta>> sorted(deltas.begin(), deltas.end());
    std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::string ids_text = "{", first_text = "{", last_text = "{", count_text = "{";
    for (const auto& [id, d] : sorted) {
        const char* sep = ids_text.size() > 1 ? "," : "";
        ids_text += sep + std::to_string(id);
        first_text += sep + std::to_string(d.first);
        last_text += sep + std::to_string(d.last);
        count_text += sep + std::to_string(d.samples);
    }
    for (std::string* a : {&ids_text, &first_text, &last_text, &count_text})
        *a += '}';
    const char* values[] = {ids_text.c_str(), first_text.c_str(), last_text.c_str(), count_text.c_str()};
    if (!PQenterPipelineMode(c))
        throw conn.error(nullptr, "cannot commit the batch");
    commit_sent = true;
    const bool sent = PQsendQueryPrepared(c, kUpdateDevicesName, 4, values, nullptr, nullptr, 0) &&
                      PQsendQueryParams(c, "COMMIT", 0, nullptr, nullptr, nullptr, nullptr, 0) &&
                      PQpipelineSync(c);
    if (!sent)
        throw conn.error(nullptr, "cannot commit the batch");
    // Results: the UPDATE's, a NULL, the COMMIT's, a NULL, the sync. After an error the pipeline reports the
    // rest as aborted; the first error is the one to tell.
    std::optional<PgError> failure;
    std::string commit_tag;
    for (int step = 0; step < 2; ++step) {
        Result r(PQgetResult(c));
        if (!r.get())
            throw conn.error(nullptr, "cannot commit the batch");
        if (r.status() != PGRES_COMMAND_OK && !failure)
            failure =
                conn.error(r.get(), step == 0 ? "cannot update the devices" : "cannot commit the batch");
        if (step == 1)
            commit_tag = r.tag();
        PQclear(PQgetResult(c)); // the NULL after each query's result
    }
    {
        Result sync(PQgetResult(c));
        if (sync.status() != PGRES_PIPELINE_SYNC && !failure)
            failure = conn.error(sync.get(), "cannot commit the batch");
    }
    PQexitPipelineMode(c);
    if (failure)
        throw *failure;
    // COMMIT of a transaction that failed earlier answers "ROLLBACK" with a success status.
    if (commit_tag != "COMMIT")
        throw PgError("cannot commit the batch: the server answered " + commit_tag, "", false);
}

CommitStatus PgStore::Impl::write_batch()
{
    std::vector<std::string_view> device_names;
    std::vector<std::string_view> metric_names;
    std::vector<std::int64_t> days;
    for (const Request& r : batch) {
        for (const telemetry::Sample& s : r.samples) {
            if (!ids.has_device(s.device))
                device_names.push_back(s.device);
            for (const telemetry::Metric& m : s.metrics)
                if (!ids.has_metric(m.name))
                    metric_names.push_back(m.name);
            const std::int64_t day = day_of(s.ts_ms);
            if (!partitions.known(day) && std::find(days.begin(), days.end(), day) == days.end())
                days.push_back(day);
        }
    }
    for (int attempt = 0;; ++attempt) {
        if (!ensure_connected())
            return CommitStatus::failed;
        bool commit_sent = false;
        try {
            ids.resolve_devices(conn, device_names);
            ids.resolve_metrics(conn, metric_names);
            const std::int64_t today = day_of(util::now_ms());
            for (const std::int64_t day : days)
                partitions.ensure(conn, day, today);

            deltas.clear();
            rows.clear();
            row_metrics.clear();
            row_values.clear();
            for (const Request& r : batch) {
                for (const telemetry::Sample& s : r.samples) {
                    const std::int32_t device = ids.device(s.device);
                    DeviceDelta& d = deltas[device];
                    d.first = std::min(d.first, s.ts_ms);
                    d.last = std::max(d.last, s.ts_ms);
                    ++d.samples;
                    rows.push_back(Row{device, s.ts_ms, static_cast<std::uint32_t>(row_metrics.size()),
                                       static_cast<std::uint32_t>(s.metrics.size())});
                    for (const telemetry::Metric& m : s.metrics) {
                        row_metrics.push_back(ids.metric(m.name));
                        row_values.push_back(m.value);
                    }
                }
            }
            // In index order: consecutive rows then land on the same b-tree pages, which stay in the CPU's
            // cache. The order of equal keys (a repeated timestamp) does not matter: both are kept.
            std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
                return std::tie(a.device, a.ts) < std::tie(b.device, b.ts);
            });
            write_transaction(commit_sent);
            return CommitStatus::committed;
        } catch (const PgError& e) {
            abort_transaction();
            if (e.connection_lost()) {
                lost(e);
                // Nothing of the batch can have committed when the connection went before the COMMIT was
                // sent: a server that is already back (a restart) then takes the batch on a fresh connection.
                if (!commit_sent && attempt == 0)
                    continue;
                return CommitStatus::failed;
            }
            if (e.retryable() && attempt + 1 < kBatchAttempts)
                continue;
            if (failed_in_a_row == 0)
                std::fprintf(stderr, "fleetscope: store: %s; answering 503 until commits succeed\n",
                             e.what());
            return CommitStatus::failed;
        }
    }
}

void PgStore::Impl::run_jobs()
{
    for (Job& job : batch_jobs) {
        if (!ensure_connected())
            break; // lost with the outage, as the SQLite store loses a job whose transaction fails
        try {
            conn.exec("BEGIN", "cannot start a write");
            job(conn);
            conn.exec("COMMIT", "cannot commit a write");
        } catch (const PgError& e) {
            abort_transaction();
            if (e.connection_lost())
                lost(e);
            else
                std::fprintf(stderr, "fleetscope: store: %s\n", e.what());
        }
    }
    batch_jobs.clear();
}

void PgStore::Impl::write_connections()
{
    // Changes that cannot be written now (an outage) stay in `pending_connections` and go with a later round;
    // newer changes of the same device replace them (take_work).
    if (pending_connections.empty() || session == 0 || !ensure_connected())
        return;
    std::vector<std::string_view> names;
    for (const auto& [device, open] : pending_connections)
        names.push_back(device);
    try {
        ids.resolve_devices(conn, names);
        std::vector<std::int32_t> opened;
        std::vector<std::int32_t> closed;
        for (const auto& [device, open] : pending_connections)
            (open ? opened : closed).push_back(ids.device(device));
        std::sort(opened.begin(), opened.end());
        conn.exec("BEGIN", "cannot record connections");
        if (!opened.empty())
            conn.exec("INSERT INTO connections(device_id, gateway) SELECT d, $2 FROM unnest($1::int[]) AS d "
                      "ORDER BY d ON CONFLICT DO NOTHING",
                      {int_array(opened), options.gateway}, "cannot record connections");
        if (!closed.empty())
            conn.exec("DELETE FROM connections WHERE gateway = $2 AND device_id = ANY($1::int[])",
                      {int_array(closed), options.gateway}, "cannot record connections");
        conn.exec("COMMIT", "cannot record connections");
        pending_connections.clear();
    } catch (const PgError& e) {
        abort_transaction();
        if (e.connection_lost())
            lost(e);
        else
            std::fprintf(stderr, "fleetscope: store: %s\n", e.what());
    }
}

void PgStore::Impl::heartbeat()
{
    if (session == 0 || !ensure_connected())
        return;
    const std::string session_text = std::to_string(session);
    const std::string now = std::to_string(util::now_ms());
    try {
        const Result r =
            batch_draining
                ? conn.exec(
                      "UPDATE gateways SET heartbeat_at = $3::bigint, draining = $4::boolean WHERE name = "
                      "$1 AND session_id = $2::bigint",
                      {options.gateway, session_text, now, *batch_draining ? "true" : "false"},
                      "cannot write the heartbeat")
                : conn.exec("UPDATE gateways SET heartbeat_at = $3::bigint WHERE name = $1 AND session_id = "
                            "$2::bigint",
                            {options.gateway, session_text, now}, "cannot write the heartbeat");
        batch_draining.reset();
        if (r.tag() == "UPDATE 0" && !heartbeat_lost_logged) {
            heartbeat_lost_logged = true;
            std::fprintf(
                stderr,
                "fleetscope: store: another gateway took the name '%s' (its session replaced %lld in "
                "the gateway list); /v1/devices no longer shows this gateway's connections\n",
                options.gateway.c_str(), static_cast<long long>(session));
        }
    } catch (const PgError& e) {
        if (e.connection_lost())
            lost(e);
        else
            std::fprintf(stderr, "fleetscope: store: %s\n", e.what());
    }
}

bool PgStore::Impl::retention()
{
    if (options.retention_days == 0)
        return true;
    if (!ensure_connected())
        return false;
    const std::int64_t first_kept =
        day_of(util::now_ms() - static_cast<std::int64_t>(options.retention_days) * kDayMs);
    try {
        bool done = true;
        const int dropped = partitions.drop_before(conn, first_kept, kRetentionSlice, done);
        // The timeline ages out with the readings, in slices too.
        const Result r =
            conn.exec("DELETE FROM timeline WHERE ctid = ANY(ARRAY(SELECT ctid FROM timeline WHERE "
                      "ts < $1::bigint LIMIT $2::bigint))",
                      {std::to_string(first_kept * kDayMs), std::to_string(kRetentionSlice)},
                      "cannot delete old timeline points");
        const std::string_view tag = r.tag();
        done = done && tag.substr(tag.rfind(' ') + 1) != std::to_string(kRetentionSlice);
        if (dropped > 0)
            std::fprintf(stderr, "fleetscope: retention: dropped %d day partition(s) before %s\n", dropped,
                         partition_name(first_kept).c_str());
        return done;
    } catch (const PgError& e) {
        if (e.connection_lost())
            lost(e);
        else
            std::fprintf(stderr, "fleetscope: retention: %s\n", e.what());
        return false;
    }
}

void PgStore::Impl::upkeep()
{
    const auto now = Clock::now();
    if (now >= next_heartbeat) {
        next_heartbeat = now + kHeartbeatPeriod;
        heartbeat();
    }
    if (now >= next_size && ensure_connected()) {
        next_size = now + kSizePeriod;
        try {
            const Result r =
                conn.exec("SELECT pg_database_size(current_database())", "cannot read the database size");
            database_bytes.store(r.int64(0, 0), std::memory_order_relaxed);
        } catch (const PgError& e) {
            if (e.connection_lost())
                lost(e);
        }
    }
    if (now >= next_upkeep && ensure_connected()) {
        next_upkeep = now + kUpkeepPeriod;
        try {
            partitions.ensure_ahead(conn, day_of(util::now_ms()));
        } catch (const PgError& e) {
            lost(e);
        }
    }
    if (now >= next_retention || !batch_retention.empty()) {
        // A pass that could not finish (rows left to delete in slices) comes back soon, between batches.
        const bool done = retention();
        next_retention = Clock::now() + (done ? kRetentionPeriod : Millis(1'000));
        for (auto& r : batch_retention)
            r->done.set_value(done);
        batch_retention.clear();
    }
}

bool PgStore::Impl::take_work()
{
    batch.clear();
    std::unique_lock lock(queue_mutex);
    while (queue.empty() && jobs.empty() && connection_changes.empty() && retention_requests.empty() &&
           !draining && !stopping) {
        const auto wake = std::min({next_heartbeat, next_upkeep, next_retention});
        if (Clock::now() >= wake)
            return true;
        writer_waiting = true;
        queue_cv.wait_until(lock, wake);
        writer_waiting = false;
    }
    batch_jobs.assign(std::make_move_iterator(jobs.begin()), std::make_move_iterator(jobs.end()));
    jobs.clear();
    for (auto& [device, open] : connection_changes)
        pending_connections[device] = open;
    connection_changes.clear();
    batch_retention.swap(retention_requests);
    retention_requests.clear();
    if (draining) {
        // Written at once rather than with the next heartbeat: the balancer should learn of it first.
        batch_draining = std::exchange(draining, std::nullopt);
        next_heartbeat = Clock::now();
    }
    std::size_t taken = 0;
    // Whole requests only, and at least one even when it alone exceeds the batch bound.
    while (!queue.empty() &&
           (batch.empty() || taken + queue.front().samples.size() <= options.max_batch_samples)) {
        taken += queue.front().samples.size();
        batch.push_back(std::move(queue.front()));
        queue.pop_front();
    }
    queued_samples -= taken;
    stat_queue.store(queued_samples, std::memory_order_relaxed);
    return !(stopping && batch.empty() && batch_jobs.empty() && batch_retention.empty());
}

void PgStore::Impl::deliver(CommitStatus status, std::uint32_t us)
{
    std::size_t samples = 0;
    for (const Request& r : batch)
        samples += r.samples.size();
    if (status == CommitStatus::committed) {
        stat_batches.fetch_add(1, std::memory_order_relaxed);
        stat_samples.fetch_add(samples, std::memory_order_relaxed);
        stat_requests.fetch_add(batch.size(), std::memory_order_relaxed);
        stat_last_batch.store(static_cast<std::uint32_t>(samples), std::memory_order_relaxed);
        stat_last_commit_us.store(us, std::memory_order_relaxed);
        commit_latency.record(std::chrono::microseconds(us));
        if (failed_in_a_row != 0)
            std::fprintf(stderr, "fleetscope: store: commits resumed after %llu failed batches\n",
                         static_cast<unsigned long long>(failed_in_a_row));
        failed_in_a_row = 0;
    } else {
        stat_failed.fetch_add(1, std::memory_order_relaxed);
        ++failed_in_a_row;
    }
    for (Request& r : batch)
        if (r.done)
            r.done(status);
    if (status == CommitStatus::committed && observer)
        for (const Request& r : batch)
            observer(r.samples);
}

void PgStore::Impl::run()
{
    while (take_work()) {
        if (!batch.empty()) {
            const auto t0 = Clock::now();
            const CommitStatus status = write_batch();
            const auto us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count();
            deliver(status, static_cast<std::uint32_t>(std::min<long long>(us, UINT32_MAX)));
        }
        write_connections();
        run_jobs();
        upkeep();
    }
    batch.clear();
    // One more attempt at the end, whatever the back-off says: the session's end is worth a connect.
    next_reconnect = Clock::now();
    write_connections();
    end_session();
}

PgStore::PgStore(Options options)
    : impl_(std::make_unique<Impl>(std::move(options)))
{
    if (impl_->options.gateway.empty())
        throw StoreError("the PostgreSQL store needs a gateway name (--gateway-name)");
    impl_->open();
    impl_->writer = std::thread([impl = impl_.get()] { impl->run(); });
}

PgStore::~PgStore()
{
    stop();
}

bool PgStore::submit(std::vector<telemetry::Sample>&& samples, CommitCallback done)
{
    Impl& s = *impl_;
    const std::size_t n = samples.size();
    bool wake = false;
    {
        std::lock_guard lock(s.queue_mutex);
        if (s.stopping)
            return false;
        if (s.queued_samples + n > s.options.queue_samples) {
            s.stat_rejected.fetch_add(1, std::memory_order_relaxed);
            return false;
        }
        s.queue.push_back(Request{std::move(samples), std::move(done)});
        s.queued_samples += n;
        s.stat_queue.store(s.queued_samples, std::memory_order_relaxed);
        wake = s.writer_waiting;
    }
    if (wake)
        s.queue_cv.notify_one();
    return true;
}

void PgStore::set_observer(CommitObserver observer)
{
    std::lock_guard lock(impl_->queue_mutex);
    impl_->observer = std::move(observer);
}

void PgStore::stop()
{
    Impl& s = *impl_;
    std::lock_guard stop_lock(s.stop_mutex);
    {
        std::lock_guard lock(s.queue_mutex);
        s.stopping = true;
    }
    s.queue_cv.notify_one();
    if (s.writer.joinable())
        s.writer.join();
}

std::int64_t PgStore::session_id() const
{
    return impl_->session;
}

const std::string& PgStore::location() const
{
    return impl_->location;
}

const std::string& PgStore::gateway() const
{
    return impl_->options.gateway;
}

bool PgStore::connected() const
{
    return impl_->stat_connected.load();
}

StoreStats PgStore::stats() const
{
    const Impl& s = *impl_;
    StoreStats st;
    st.queue_samples = s.stat_queue.load(std::memory_order_relaxed);
    st.batches = s.stat_batches.load(std::memory_order_relaxed);
    st.committed_samples = s.stat_samples.load(std::memory_order_relaxed);
    st.committed_requests = s.stat_requests.load(std::memory_order_relaxed);
    st.rejected_overload = s.stat_rejected.load(std::memory_order_relaxed);
    st.failed_batches = s.stat_failed.load(std::memory_order_relaxed);
    st.last_batch_samples = s.stat_last_batch.load(std::memory_order_relaxed);
    st.last_commit_us = s.stat_last_commit_us.load(std::memory_order_relaxed);
    st.commit_latency = s.commit_latency.counts();
    return st;
}

namespace {

/// Queues `job` unless the store is stopping; wakes the writer.
template <class Impl, class Fn>
bool queue_job(Impl& s, Fn&& fn)
{
    bool wake = false;
    {
        std::lock_guard lock(s.queue_mutex);
        if (s.stopping)
            return false;
        fn();
        wake = s.writer_waiting;
    }
    if (wake)
        s.queue_cv.notify_one();
    return true;
}

} // namespace

void PgStore::note_connection(const std::string& device, bool open)
{
    queue_job(*impl_, [&] { impl_->connection_changes[device] = open; });
}

void PgStore::set_draining(bool draining)
{
    queue_job(*impl_, [&] { impl_->draining = draining; });
}

bool PgStore::queue_mark(MarkRow mark)
{
    mark.session_id = impl_->session;
    return queue_job(*impl_, [&] {
        impl_->jobs.push_back([mark = std::move(mark)](Connection& c) {
            c.exec("INSERT INTO marks(session_id, label, from_ts, to_ts) VALUES ($1::bigint, $2, $3::bigint, "
                   "$4::bigint)",
                   {std::to_string(mark.session_id), mark.label, std::to_string(mark.from_ts),
                    std::to_string(mark.to_ts)},
                   "cannot record the mark");
        });
    });
}

bool PgStore::add_timeline(std::vector<TimelineRow> points)
{
    const std::int64_t session = impl_->session;
    if (session == 0)
        return false;
    return queue_job(*impl_, [&] {
        impl_->jobs.push_back([session, points = std::move(points)](Connection& c) {
            std::vector<std::string_view> series;
            std::vector<std::int64_t> ts;
            std::string values = "{";
            for (const TimelineRow& p : points) {
                series.push_back(p.series);
                ts.push_back(p.ts);
                if (values.size() > 1)
                    values += ',';
                char buf[32];
                values.append(buf, std::to_chars(buf, buf + sizeof buf, p.value).ptr);
            }
            values += '}';
            c.exec("INSERT INTO timeline(session_id, series, ts, value) SELECT $1::bigint, s, t, v FROM "
                   "unnest($2::text[], $3::bigint[], $4::float8[]) AS u(s, t, v) ON CONFLICT (session_id, "
                   "series, ts) DO UPDATE SET value = excluded.value",
                   {std::to_string(session), text_array(series), int_array(ts), values},
                   "cannot record timeline points");
        });
    });
}

bool PgStore::add_alert_changes(std::vector<AlertChange> changes)
{
    const std::int64_t session = impl_->session;
    return queue_job(*impl_, [&] {
        impl_->jobs.push_back([session, changes = std::move(changes)](Connection& c) {
            for (const AlertChange& ch : changes) {
                const AlertRow& a = ch.alert;
                const std::string id = std::to_string(a.id);
                switch (ch.kind) {
                case AlertChange::Kind::raised:
                    c.exec("INSERT INTO alerts(id, session_id, rule, subject, severity, raised_at, message) "
                           "VALUES ($1::bigint, $2::bigint, $3, $4, $5, $6::bigint, $7)",
                           {id, std::to_string(session), a.rule, a.subject, a.severity,
                            std::to_string(a.raised_at), a.message},
                           "cannot record an alert");
                    break;
                case AlertChange::Kind::cleared:
                    c.exec("UPDATE alerts SET cleared_at = $2::bigint WHERE id = $1::bigint",
                           {id, std::to_string(a.cleared_at.value_or(0))}, "cannot record an alert");
                    break;
                case AlertChange::Kind::acked:
                    c.exec("UPDATE alerts SET acked_at = $2::bigint WHERE id = $1::bigint",
                           {id, std::to_string(a.acked_at.value_or(0))}, "cannot record an alert");
                    break;
                }
            }
        });
    });
}

const PgReader& PgStore::reader() const
{
    return impl_->reader;
}

std::int64_t PgStore::disk_bytes() const
{
    return impl_->database_bytes.load(std::memory_order_relaxed);
}

bool PgStore::run_retention_now()
{
    auto request = std::make_shared<RetentionRequest>();
    auto result = request->done.get_future();
    if (!queue_job(*impl_, [&] { impl_->retention_requests.push_back(request); }))
        return false;
    return result.get();
}

} // namespace fleetscope::store::pg
