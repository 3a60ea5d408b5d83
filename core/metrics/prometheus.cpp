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
// so rendering allocates only when the reservation was too small.
class Writer {
public:
    explicit Writer(std::string& out)
        : out_(out)
    {}

    void family(std::string_view name, std::string_view type, std::string_view help)
    {
        out_ += "# HELP fleetscope_";
        out_ += name;
        out_ += ' ';
        out_ += help;
        out_ += "\n# TYPE fleetscope_";
        out_ += name;
        out_ += ' ';
        out_ += type;
        out_ += '\n';
    }

    template <class T>
    void sample(std::string_view name, T value)
    {
        start(name);
        out_ += ' ';
        number(value);
        out_ += '\n';
    }

    template <class T>
    void sample(std::string_view name, std::string_view label, std::string_view label_value, T value)
    {
        start(name);
        out_ += '{';
        out_ += label;
        out_ += "=\"";
        out_ += label_value; // our label values never need escaping: digits, "2xx", "0.99"
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

private:
    void start(std::string_view name)
    {
        out_ += "fleetscope_";
        out_ += name;
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
        else
            append_chars(v, std::chars_format::general); // shortest round-trip digits, no 5e-04 for 0.0005
    }

    template <class T, class... Format>
    void append_chars(T v, Format... format)
    {
        char buf[32];
        const auto r = std::to_chars(buf, buf + sizeof buf, v, format...);
        out_.append(buf, r.ptr);
    }

    std::string& out_;
};

double seconds_from_ms(double ms)
{
    return ms / 1e3;
}

} // namespace

std::string prometheus_text(const Snapshot& s)
{
    std::string out;
    // About 4 KB of fixed families plus ~600 bytes of per-worker lines each.
    out.reserve(4096 + s.workers.size() * 640);
    Writer w(out);

    w.gauge("uptime_seconds", "Time since the gateway started.", seconds_from_ms(double(s.uptime_ms)));

    w.gauge("connections_open", "Device connections open now, active and parked.", s.connections_open);
    w.counter("connections_accepted_total", "Connections accepted since start.", s.accepted_total);
    w.counter("accept_backoffs_total", "Accept back-offs after EMFILE or ENFILE (out of file descriptors).",
              s.accept_backoffs);
    w.gauge("connection_ceiling",
            "Connections the gateway admits at most (file-descriptor limit less a reserve).",
            s.connection_ceiling);
    w.gauge("fd_limit", "Soft RLIMIT_NOFILE of the process, after raising it to the hard limit.", s.fd_limit);
    w.gauge("open_fds", "File descriptors the process holds now.", s.open_fds);

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
    w.family("ack_latency_seconds", "gauge",
             "POST /v1/telemetry latency from request received to 204 sent, over the last sample interval.");
    w.sample("ack_latency_seconds", "quantile", "0.5", seconds_from_ms(s.ack_p50_ms));
    w.sample("ack_latency_seconds", "quantile", "0.99", seconds_from_ms(s.ack_p99_ms));

    w.gauge("store_queue_samples", "Samples waiting for the store's writer thread.", s.store_queue);
    w.counter("store_batches_total", "Transactions committed by the store's writer thread.", s.store_batches);
    w.gauge("store_last_batch_samples", "Samples in the most recent committed transaction.",
            s.store_last_batch);
    w.family("commit_latency_seconds", "gauge",
             "Store transaction commit time, over the last sample interval.");
    w.sample("commit_latency_seconds", "quantile", "0.5", seconds_from_ms(s.commit_p50_ms));
    w.sample("commit_latency_seconds", "quantile", "0.99", seconds_from_ms(s.commit_p99_ms));

    w.gauge("resident_memory_bytes", "Resident set size of the gateway process.", s.rss_bytes);

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
    return out;
}

} // namespace fleetscope::metrics
