// SPDX-License-Identifier: GPL-3.0-or-later
// Ingest beside JSON (issue 17), in one invocation through one gateway (in this process, on loopback):
//  1. JSON (POST /v1/telemetry) and line protocol (POST /write): the same readings (10 samples of 10 metrics
//  per
//     request) posted back to back over `connections` keep-alive connections for `seconds` each, alternating
//     JSON, line protocol, JSON, line protocol; readings/s committed and the p99 of request sent to 204
//     received, and line protocol's readings/s as a ratio of JSON's;
//  2. MQTT: a Paho C asynchronous publisher on loopback sends `messages` QoS 1 messages (one sample of 10
//     metrics each) through a real Mosquitto; messages/s committed by the gateway, from the first publish to
//     the last commit, and the p99 of publish to the broker's PUBACK as the publisher sees it.
// Client and gateway share the machine's cores, so the figures are shares of a loaded machine: read the
// ratio. Usage: bench_ingest [seconds=5] [connections=4] [messages=20000]
#include "core/gateway.hpp"
#include "support/mosquitto_broker.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <MQTTAsync.h>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace fleetscope;
namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kSamplesPerRequest = 10;
constexpr int kMetricsPerSample = 10;

double p99_ms(std::vector<double> v)
{
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, v.size() * 99 / 100)];
}

std::int64_t wall_ms()
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string json_body(int device, std::int64_t ts)
{
    std::string b = "[";
    for (int s = 0; s < kSamplesPerRequest; ++s) {
        b += s ? "," : "";
        b += R"({"device":"bench-)" + std::to_string(device) + R"(","ts":)" + std::to_string(ts + s) +
             R"(,"metrics":{)";
        for (int m = 0; m < kMetricsPerSample; ++m)
            b += (m ? ",\"m" : "\"m") + std::to_string(m) + "\":" + std::to_string(20 + m) + ".5";
        b += "}}";
    }
    return b + "]";
}

std::string line_body(int device, std::int64_t ts)
{
    std::string b;
    for (int s = 0; s < kSamplesPerRequest; ++s) {
        b += "bench,device=bench-" + std::to_string(device) + " ";
        for (int m = 0; m < kMetricsPerSample; ++m)
            b += (m ? ",m" : "m") + std::to_string(m) + "=" + std::to_string(20 + m) + ".5";
        b += " " + std::to_string(ts + s) + "\n";
    }
    return b;
}

struct HttpResult {
    double readings_per_s = 0;
    double p99 = 0;
    std::uint64_t failed = 0;
};

/// `connections` clients posting back to back for `seconds`.
HttpResult run_http(std::uint16_t port, bool line_protocol, int seconds, int connections)
{
    std::atomic<std::uint64_t> ok{0}, failed{0};
    std::mutex mutex;
    std::vector<double> latencies;
    const auto deadline = Clock::now() + std::chrono::seconds(seconds);
    const auto start = Clock::now();
    std::vector<std::thread> clients;
    for (int c = 0; c < connections; ++c)
        clients.emplace_back([&, c] {
            asio::io_context io;
            asio::ip::tcp::socket socket(io);
            socket.connect({asio::ip::make_address("127.0.0.1"), port});
            boost::beast::flat_buffer buffer;
            std::vector<double> mine;
            std::int64_t ts = wall_ms() + c * 1'000'000LL;
            while (Clock::now() < deadline) {
                bhttp::request<bhttp::string_body> req{
                    bhttp::verb::post, line_protocol ? "/write?precision=ms" : "/v1/telemetry", 11};
                req.set(bhttp::field::host, "127.0.0.1");
                req.set(bhttp::field::content_type, line_protocol ? "text/plain" : "application/json");
                req.body() = line_protocol ? line_body(c, ts) : json_body(c, ts);
                req.prepare_payload();
                ts += kSamplesPerRequest;
                const auto t0 = Clock::now();
                bhttp::write(socket, req);
                bhttp::response<bhttp::string_body> res;
                bhttp::read(socket, buffer, res);
                mine.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
                (res.result_int() == 204 ? ok : failed)++;
            }
            std::lock_guard lk(mutex);
            latencies.insert(latencies.end(), mine.begin(), mine.end());
        });
    for (auto& t : clients)
        t.join();
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    return {double(ok.load()) * kSamplesPerRequest * kMetricsPerSample / elapsed, p99_ms(latencies),
            failed.load()};
}

struct MqttResult {
    double messages_per_s = 0;
    double puback_p99 = 0;
    bool complete = false;
};

/// The publisher's side: send times by message token, PUBACK latencies.
struct Publisher {
    std::mutex mutex;
    std::vector<Clock::time_point> sent;
    std::vector<double> acked;
    std::atomic<int> outstanding{0};

    static void on_success(void* context, MQTTAsync_successData* data)
    {
        auto* p = static_cast<std::pair<Publisher*, int>*>(context);
        {
            std::lock_guard lk(p->first->mutex);
            p->first->acked.push_back(
                std::chrono::duration<double, std::milli>(Clock::now() - p->first->sent[p->second]).count());
        }
        p->first->outstanding--;
        (void)data;
    }
    static void on_failure(void* context, MQTTAsync_failureData*)
    {
        static_cast<std::pair<Publisher*, int>*>(context)->first->outstanding--;
    }
};

MqttResult run_mqtt(Gateway& gateway, const testing::MosquittoBroker& broker, int messages)
{
    MQTTAsync client = nullptr;
    const std::string uri = "tcp://127.0.0.1:" + std::to_string(broker.port());
    if (MQTTAsync_create(&client, uri.c_str(), "bench-publisher", MQTTCLIENT_PERSISTENCE_NONE, nullptr) !=
        MQTTASYNC_SUCCESS)
        return {};
    MQTTAsync_connectOptions conn = MQTTAsync_connectOptions_initializer;
    conn.cleansession = 1;
    conn.maxInflight = 1000;
    std::atomic<int> connected{0};
    conn.onSuccess = [](void* c, MQTTAsync_successData*) { static_cast<std::atomic<int>*>(c)->store(1); };
    conn.onFailure = [](void* c, MQTTAsync_failureData*) { static_cast<std::atomic<int>*>(c)->store(-1); };
    conn.context = &connected;
    MQTTAsync_connect(client, &conn);
    while (connected.load() == 0)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    if (connected.load() < 0)
        return {};

    Publisher pub;
    pub.sent.resize(static_cast<std::size_t>(messages));
    std::vector<std::pair<Publisher*, int>> contexts(static_cast<std::size_t>(messages));
    const std::uint64_t before = gateway.snapshot().mqtt_committed;
    const auto start = Clock::now();
    const std::int64_t ts0 = wall_ms();
    for (int i = 0; i < messages; ++i) {
        std::string payload = R"({"ts":)" + std::to_string(ts0 + i) + R"(,"metrics":{)";
        for (int m = 0; m < kMetricsPerSample; ++m)
            payload += (m ? ",\"m" : "\"m") + std::to_string(m) + "\":" + std::to_string(i % 100) + ".5";
        payload += "}}";
        contexts[static_cast<std::size_t>(i)] = {&pub, i};
        MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
        ro.onSuccess = &Publisher::on_success;
        ro.onFailure = &Publisher::on_failure;
        ro.context = &contexts[static_cast<std::size_t>(i)];
        // Bounded in flight, as a device would be.
        while (pub.outstanding.load() >= 1000)
            std::this_thread::sleep_for(std::chrono::microseconds(200));
        {
            std::lock_guard lk(pub.mutex);
            pub.sent[static_cast<std::size_t>(i)] = Clock::now();
        }
        pub.outstanding++;
        while (MQTTAsync_send(client, "bench/pub-1/telemetry", static_cast<int>(payload.size()),
                              payload.data(), 1, 0, &ro) != MQTTASYNC_SUCCESS)
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    // Committed: the gateway's count, read from its snapshots (every sample-interval).
    const auto deadline = Clock::now() + std::chrono::seconds(120);
    Clock::time_point done{};
    while (Clock::now() < deadline) {
        if (gateway.snapshot().mqtt_committed - before >= std::uint64_t(messages)) {
            done = Clock::now();
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    while (pub.outstanding.load() > 0 && Clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    MQTTAsync_disconnectOptions dis = MQTTAsync_disconnectOptions_initializer;
    MQTTAsync_disconnect(client, &dis);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    MQTTAsync_destroy(&client);
    MqttResult r;
    r.complete = done != Clock::time_point{};
    if (r.complete)
        r.messages_per_s = messages / std::chrono::duration<double>(done - start).count();
    std::lock_guard lk(pub.mutex);
    r.puback_p99 = p99_ms(pub.acked);
    return r;
}

} // namespace

int main(int argc, char** argv)
{
    const int seconds = argc > 1 ? std::atoi(argv[1]) : 5;
    const int connections = argc > 2 ? std::atoi(argv[2]) : 4;
    const int messages = argc > 3 ? std::atoi(argv[3]) : 20000;
    if (const auto why = testing::MosquittoBroker::unavailable(); !why.empty()) {
        std::fprintf(stderr, "bench_ingest: %s\n", why.c_str());
        return 1;
    }
    testing::MosquittoBroker broker;
    broker.start();

    const auto dir = std::filesystem::temp_directory_path() / ("bench_ingest." + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    Settings s;
    s.listen = "127.0.0.1:0";
    s.workers = 2;
    s.db_path = (dir / "bench.db").string();
    s.mqtt_broker = broker.url();
    s.mqtt_topics = "bench/+/telemetry";
    s.mqtt_client_id = "fleetscope-bench";
    Gateway gateway(s);
    gateway.start();
    while (gateway.snapshot().mqtt_link != 2)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));

    std::printf(
        "bench_ingest: %d s per HTTP run, %d connections, %d readings per request; %d MQTT messages of %d "
        "readings\n",
        seconds, connections, kSamplesPerRequest * kMetricsPerSample, messages, kMetricsPerSample);
    HttpResult json[2], lp[2];
    for (int round = 0; round < 2; ++round) {
        json[round] = run_http(gateway.port(), false, seconds, connections);
        lp[round] = run_http(gateway.port(), true, seconds, connections);
        std::printf(
            "  round %d: JSON %.0f readings/s (p99 %.2f ms, %llu failed); line protocol %.0f readings/s "
            "(p99 %.2f ms, %llu failed); ratio %.2f\n",
            round + 1, json[round].readings_per_s, json[round].p99, (unsigned long long)json[round].failed,
            lp[round].readings_per_s, lp[round].p99, (unsigned long long)lp[round].failed,
            lp[round].readings_per_s / json[round].readings_per_s);
    }
    const auto mqtt = run_mqtt(gateway, broker, messages);
    if (!mqtt.complete)
        std::printf("  MQTT: not every message committed within 120 s\n");
    else
        std::printf("  MQTT: %.0f messages/s committed (%.0f readings/s); publisher's PUBACK p99 %.2f ms\n",
                    mqtt.messages_per_s, mqtt.messages_per_s * kMetricsPerSample, mqtt.puback_p99);
    gateway.stop();
    broker.stop();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    return mqtt.complete ? 0 : 1;
}
