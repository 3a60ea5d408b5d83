// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/metrics/prometheus.hpp"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <string_view>
#include <system_error>

namespace fleetscope::metrics {

namespace {

// Appends families and samples to one reserved string; numbers go through std::to_chars into a stack buffer,
// so rendering allocates only when the reservation was too small. Every name gets the writer's prefix.
class Writer {
public:
    Writer(std::string& out, std::string_view prefix)
        : out_(out)
        , prefix_(prefix)
    {}

    void family(std::string_view name, std::string_view type, std::string_view help)
    {
        out_ += "# HELP ";
        out_ += prefix_;
        out_ += name;
        out_ += ' ';
        out_ += help;
        out_ += "\n# TYPE ";
        out_ += prefix_;
        out_ += name;
        out_ += ' ';
        out_ += type;
        out_ += '\n';
    }

    template <class T>
    void sample(std::string_view name, T value, std::string_view suffix = {})
    {
        start(name, suffix);
        out_ += ' ';
        number(value);
        out_ += '\n';
    }

    template <class T>
    void sample(std::string_view name, std::string_view label, std::string_view label_value, T value,
                std::string_view suffix = {})
    {
        start(name, suffix);
        out_ += '{';
        out_ += label;
        out_ += "=\"";
        escaped(label_value);
        out_ += "\"} ";
        number(value);
        out_ += '\n';
    }

    template <class T>
    void gauge(std::string_view name, std::string_view help, T value)
    {
        family(name, "gauge", help);
        sample(name, value);
    }
    template <class T>
    void counter(std::string_view name, std::string_view help, T value)
    {
        family(name, "counter", help);
        sample(name, value);
    }

    /// A histogram family in seconds: one cumulative _bucket line per bound, +Inf, _sum and _count.
    void histogram(std::string_view name, std::string_view help, const LatencyBuckets& h)
    {
        family(name, "histogram", help);
        char le[32];
        for (std::size_t i = 0; i < kLatencyBounds; ++i)
            sample(name, "le", seconds_text(le, kLatencyBoundsNs[i]), h.below[i], "_bucket");
        sample(name, "le", "+Inf", h.count, "_bucket");
        sample(name, double(h.sum_ns) / 1e9, "_sum");
        sample(name, h.count, "_count");
    }

private:
    void start(std::string_view name, std::string_view suffix)
    {
        out_ += prefix_;
        out_ += name;
        out_ += suffix;
    }

    /// The exposition format escapes backslash, double quote and newline in label values.
    void escaped(std::string_view v)
    {
        for (char c : v) {
            if (c == '\\' || c == '"')
                out_ += '\\';
            if (c == '\n')
                out_ += "\\n";
            else
                out_ += c;
        }
    }

    /// `ns` as decimal seconds, written exactly ("0.000001024", "1.5"), so a bound reads as what it is rather
    /// than as the nearest double's shortest digits in exponent form.
    static std::string_view seconds_text(char (&buf)[32], std::uint64_t ns)
    {
        auto r = std::to_chars(buf, buf + sizeof buf, ns / 1'000'000'000);
        if (std::uint64_t frac = ns % 1'000'000'000; frac != 0) {
            *r.ptr++ = '.';
            for (std::uint64_t unit = 100'000'000; frac != 0; unit /= 10) {
                *r.ptr++ = static_cast<char>('0' + frac / unit);
                frac %= unit;
            }
        }
        return {buf, static_cast<std::size_t>(r.ptr - buf)};
    }

    void number(std::uint64_t v) { append_chars(v); }
    void number(std::int64_t v) { append_chars(v); }
    void number(std::uint32_t v) { append_chars(std::uint64_t{v}); }
    void number(double v)
    {
        if (std::isnan(v))
            out_ += "NaN";
        else if (std::isinf(v))
            out_ += v > 0 ? "+Inf" : "-Inf";
        else if (v == 0 || (std::abs(v) >= 1e-6 && std::abs(v) < 1e15))
            append_chars(v, std::chars_format::fixed); // shortest round-trip digits: 0.0005, 1732629987.5
        else
            append_chars(v, std::chars_format::general);
    }

    template <class T, class... Format>
    void append_chars(T v, Format... format)
    {
        char buf[64]; // a shortest fixed double under 1e15 and at least 1e-6 takes at most 25
        const auto r = std::to_chars(buf, buf + sizeof buf, v, format...);
        out_.append(buf, r.ptr);
    }

    std::string& out_;
    std::string_view prefix_;
};

double seconds_from_ms(double ms)
{
    return ms / 1e3;
}

/// The standard process_* families, named and described as Prometheus's own client libraries export them so
/// that stock dashboards and alerts work unchanged. A figure the platform cannot give is left out.
void process_families(std::string& out, const Snapshot& s)
{
    Writer p(out, "process_");
    if (s.cpu_seconds >= 0)
        p.counter("cpu_seconds_total", "Total user and system CPU time spent in seconds.", s.cpu_seconds);
    if (s.rss_bytes > 0)
        p.gauge("resident_memory_bytes", "Resident memory size in bytes.", s.rss_bytes);
    if (s.virtual_memory_bytes >= 0)
        p.gauge("virtual_memory_bytes", "Virtual memory size in bytes.", s.virtual_memory_bytes);
    if (s.open_fds > 0)
        p.gauge("open_fds", "Number of open file descriptors.", s.open_fds);
    if (s.fd_limit > 0)
        p.gauge("max_fds",
                "Maximum number of open file descriptors (the soft RLIMIT_NOFILE, after the gateway raised "
                "it to the hard limit).",
                s.fd_limit);
    if (s.start_time_seconds >= 0)
        p.gauge("start_time_seconds", "Start time of the process since unix epoch in seconds.",
                s.start_time_seconds);
}

} // namespace

std::string prometheus_text(const Snapshot& s)
{
    std::string out;
    // About 16 KB of fixed families (the two histograms are 57 lines each) plus ~600 bytes per worker.
    out.reserve(16384 + s.workers.size() * 640);
    Writer w(out, "fleetscope_");

    w.family("build_info", "gauge", "Always 1; the version label says which FleetScope build answers.");
    w.sample("build_info", "version", FLEETSCOPE_VERSION, 1u);
    w.gauge("uptime_seconds", "Time since the gateway started.", seconds_from_ms(double(s.uptime_ms)));

    w.gauge("connections_open", "Device connections open now, active and parked.", s.connections_open);
    w.counter("connections_accepted_total", "Connections accepted since start.", s.accepted_total);
    w.counter("accept_backoffs_total", "Accept back-offs after EMFILE or ENFILE (out of file descriptors).",
              s.accept_backoffs);
    w.gauge("connection_ceiling",
            "Connections the gateway admits at most (file-descriptor limit less a reserve).",
            s.connection_ceiling);
    w.gauge("devices_connected", "Devices with an open connection that posted for them.",
            s.devices_connected);

    if (s.listen_queue >= 0)
        w.gauge("listen_queue", "Connections in the kernel accept queue, not yet accepted.", s.listen_queue);
    if (s.listen_queue_limit >= 0)
        w.gauge("listen_queue_limit", "Effective listen backlog (the setting clamped to net.core.somaxconn).",
                s.listen_queue_limit);
    if (s.listen_overflows >= 0)
        w.counter("listen_overflows_total",
                  "Host-wide TcpExt ListenOverflows: connections refused because an accept queue was full.",
                  s.listen_overflows);
    if (s.listen_drops >= 0)
        w.counter("listen_drops_total", "Host-wide TcpExt ListenDrops: connections dropped by any listener.",
                  s.listen_drops);

    w.family("responses_total", "counter", "HTTP responses sent, by status class.");
    static constexpr std::string_view kClasses[] = {"", "1xx", "2xx", "3xx", "4xx", "5xx"};
    for (std::size_t c = 1; c < s.responses_by_class.size(); ++c)
        w.sample("responses_total", "class", kClasses[c], s.responses_by_class[c]);

    w.counter("samples_committed_total", "Telemetry samples committed to the store and acknowledged.",
              s.samples_committed);
    w.family("samples_rejected_total", "counter",
             "Telemetry samples that decoded but were not stored, by reason (a body that does not decode "
             "counts as a 4xx response).");
    for (std::size_t r = 0; r < kRejections; ++r)
        w.sample("samples_rejected_total", "reason", kRejectionNames[r], s.samples_rejected[r]);
    w.histogram("ack_latency_seconds",
                "POST /v1/telemetry latency from request received to 204 sent, since start.", s.ack_latency);

    w.gauge("store_queue_samples", "Samples waiting for the store's writer thread.", s.store_queue);
    w.counter("store_batches_total", "Transactions committed by the store's writer thread.", s.store_batches);
    w.gauge("store_last_batch_samples", "Samples in the most recent committed transaction.",
            s.store_last_batch);
    w.histogram("commit_latency_seconds", "Store transaction commit time, since start.", s.commit_latency);
    if (s.database_bytes >= 0)
        w.gauge("database_bytes",
                "Size of the store's files on disk (the database, its recent file, their write-ahead logs).",
                s.database_bytes);

    // docs/architecture.md, "Ingest protocols".
    w.counter("line_protocol_samples_total",
              "Samples committed through POST /write and /api/v2/write (InfluxDB line protocol).",
              s.line_protocol_samples);
    w.counter("line_protocol_strings_skipped_total",
              "Line-protocol string fields skipped: they carry no numeric reading.", s.line_protocol_strings);
    w.gauge("mqtt_link", "The MQTT subscription: 0 off (no mqtt-broker), 1 connecting or reconnecting, 2 up.",
            unsigned(s.mqtt_link));
    w.counter("mqtt_messages_total", "MQTT messages received from the broker.", s.mqtt_messages);
    w.counter("mqtt_messages_committed_total", "MQTT messages whose readings committed, then acknowledged.",
              s.mqtt_committed);
    w.counter("mqtt_messages_invalid_total",
              "MQTT messages that failed validation: acknowledged, logged and not stored.", s.mqtt_invalid);
    w.counter("mqtt_connects_total", "Connections to the MQTT broker made, the first and every reconnection.",
              s.mqtt_connects);

    // Per-worker families: one HELP/TYPE each, then one line per worker, as the format requires a family's
    // samples to be contiguous.
    char idx[24];
    const auto per_worker = [&](std::string_view name, std::string_view type, std::string_view help,
                                auto field) {
        w.family(name, type, help);
        for (std::size_t i = 0; i < s.workers.size(); ++i) {
            const auto r = std::to_chars(idx, idx + sizeof idx, i);
            w.sample(name, "worker", std::string_view(idx, std::size_t(r.ptr - idx)), field(s.workers[i]));
        }
    };
    if (!s.workers.empty()) {
        per_worker("worker_ready_fibers", "gauge", "Fibers ready to run on the worker.",
                   [](const WorkerSnapshot& x) { return x.ready_depth; });
        per_worker("worker_fibers_alive", "gauge", "Fibers started and not finished on the worker.",
                   [](const WorkerSnapshot& x) { return x.fibers_alive; });
        per_worker("worker_context_switches_total", "counter", "Fiber context switches on the worker.",
                   [](const WorkerSnapshot& x) { return x.context_switches; });
        per_worker("worker_idle_seconds_total", "counter",
                   "Time the worker spent blocked in the reactor with no fiber ready.",
                   [](const WorkerSnapshot& x) { return double(x.idle_ns) / 1e9; });
        per_worker("worker_connections", "gauge", "Connections owned by the worker, active and parked.",
                   [](const WorkerSnapshot& x) { return x.connections; });
        per_worker("worker_parked_connections", "gauge", "Idle connections the worker holds without a fiber.",
                   [](const WorkerSnapshot& x) { return x.parked; });
    }
    process_families(out, s);
    return out;
}

} // namespace fleetscope::metrics
