// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/ingest/mqtt_ingester.hpp"

#include "core/ingest/mqtt_payload.hpp"
#include "core/ingest/mqtt_persistence.hpp"
#include "core/log.hpp"
#include "core/metrics/ingest_counters.hpp"
#include "core/store/writer.hpp"
#include "core/util/clock.hpp"

#include <MQTTClient.h>
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <vector>

namespace fleetscope::ingest {

namespace {

using Clock = std::chrono::steady_clock;

/// How long one MQTTClient_receive waits for a message before the loop looks at commits and the stop flag.
constexpr unsigned long kReceiveWaitMs = 50;
constexpr int kKeepAliveSeconds = 20;
constexpr int kConnectTimeoutSeconds = 10;

/// Paho's scheme for our URI: tcp:// for mqtt://, ssl:// for mqtts://.
std::string paho_uri(const std::string& broker)
{
    if (broker.starts_with("mqtts://"))
        return "ssl://" + broker.substr(8);
    if (broker.starts_with("mqtt://"))
        return "tcp://" + broker.substr(7);
    return broker;
}

std::string describe(int rc)
{
    return std::string(MQTTClient_strerror(rc)) + " (" + std::to_string(rc) + ")";
}

} // namespace

struct MqttIngester::Impl {
    Impl(Settings s, store::Writer& w, metrics::IngestCounters& c, std::string dir)
        : settings(std::move(s))
        , writer(w)
        , counters(c)
        , filters(split_topics(settings.mqtt_topics))
        , messages(std::move(dir))
    {}

    /// A message whose readings are in the store's queue, kept to submit again should the commit fail.
    struct InFlight {
        std::string key; // its file in the MessageStore
        std::vector<telemetry::Sample> samples;
    };
    /// A commit's outcome, from the store's writer thread.
    struct Outcome {
        std::uint64_t id;
        store::CommitStatus status;
    };

    Settings settings;
    store::Writer& writer;
    metrics::IngestCounters& counters;
    std::vector<std::string> filters;
    MessageStore messages;
    std::string password;
    MQTTClient client = nullptr;
    std::thread thread;

    // Shared with the writer thread's commit callbacks and with stop().
    std::mutex mutex;
    std::condition_variable cv;
    std::vector<Outcome> outcomes;
    bool stopping = false;

    // The ingester thread's own.
    std::unordered_map<std::uint64_t, InFlight> in_flight;
    std::size_t in_flight_samples = 0;
    std::vector<std::pair<Clock::time_point, std::uint64_t>> retries;
    std::uint64_t next_id = 0;
    Clock::time_point last_invalid_log{};
    std::uint64_t invalid_unlogged = 0;

    void run();
    bool connect();
    void receive_loop();
    void handle(std::string_view topic, std::string_view payload, std::string key);
    bool submit(std::uint64_t id);
    void settle(bool wait);
    bool stop_requested()
    {
        std::lock_guard lk(mutex);
        return stopping;
    }
    /// Waits `d` or until stop() is called; false when stopping.
    bool pause(Clock::duration d)
    {
        std::unique_lock lk(mutex);
        return !cv.wait_for(lk, d, [this] { return stopping; });
    }
    void set_link(metrics::MqttLink link)
    {
        counters.mqtt_link.store(static_cast<std::uint8_t>(link), std::memory_order_relaxed);
    }
};

MqttIngester::MqttIngester(Settings settings, store::Writer& writer, metrics::IngestCounters& counters,
                           std::string state_dir)
    : impl_(std::make_unique<Impl>(std::move(settings), writer, counters, std::move(state_dir)))
{}

MqttIngester::~MqttIngester()
{
    stop();
}

std::string MqttIngester::client_id(const Settings& s)
{
    return s.mqtt_client_id.empty() ? "fleetscope-" + gateway_name(s) : s.mqtt_client_id;
}

std::string MqttIngester::state_dir(const Settings& s)
{
    const auto target = store_target(s);
    if (target.kind == StoreTarget::Kind::sqlite)
        return target.location + "-mqtt";
    return (std::filesystem::path(default_db_path()).parent_path() / ("mqtt-" + client_id(s))).string();
}

void MqttIngester::start()
{
    auto& d = *impl_;
    if (d.thread.joinable())
        return;
    if (!d.settings.mqtt_password_file.empty()) {
        std::ifstream in(d.settings.mqtt_password_file);
        if (!in || !std::getline(in, d.password))
            throw std::runtime_error("mqtt-password-file " + d.settings.mqtt_password_file +
                                     ": cannot be read (its first line is the MQTT password)");
        if (!d.password.empty() && d.password.back() == '\r')
            d.password.pop_back();
    }
    MQTTClient_createOptions create = MQTTClient_createOptions_initializer;
    create.MQTTVersion = MQTTVERSION_3_1_1;
    const std::string uri = paho_uri(d.settings.mqtt_broker);
    const std::string id = client_id(d.settings);
    // Paho restores here the messages a previous run received and did not commit, to deliver them first.
    if (const int rc = MQTTClient_createWithOptions(&d.client, uri.c_str(), id.c_str(),
                                                    MQTTCLIENT_PERSISTENCE_USER, d.messages.paho(), &create);
        rc != MQTTCLIENT_SUCCESS)
        throw std::runtime_error("mqtt-broker " + d.settings.mqtt_broker +
                                 ": cannot create the MQTT client: " + describe(rc));
    d.stopping = false;
    d.set_link(metrics::MqttLink::connecting);
    d.thread = std::thread([&d] { d.run(); });
}

void MqttIngester::stop()
{
    auto& d = *impl_;
    if (!d.thread.joinable())
        return;
    {
        std::lock_guard lk(d.mutex);
        d.stopping = true;
    }
    d.cv.notify_all();
    d.thread.join();
    MQTTClient_destroy(&d.client);
    d.set_link(metrics::MqttLink::off);
}

void MqttIngester::Impl::run()
{
    Clock::duration backoff = settings.mqtt_reconnect_min;
    while (!stop_requested()) {
        set_link(metrics::MqttLink::connecting);
        if (!connect()) {
            log::write(log::Level::warning,
                       "MQTT: retrying in " +
                           std::to_string(std::chrono::duration_cast<Millis>(backoff).count()) +
                           " ms (mqtt-reconnect-min .. mqtt-reconnect-max)");
            settle(false);
            if (!pause(backoff))
                break;
            backoff = std::min<Clock::duration>(backoff * 2, settings.mqtt_reconnect_max);
            continue;
        }
        backoff = settings.mqtt_reconnect_min;
        set_link(metrics::MqttLink::up);
        metrics::IngestCounters::add(counters.mqtt_connects);
        log::write(log::Level::info, "MQTT: connected to " + settings.mqtt_broker + " as " +
                                         MqttIngester::client_id(settings) + ", subscribed to " +
                                         settings.mqtt_topics);
        receive_loop();
        if (MQTTClient_isConnected(client))
            break; // stopping
        set_link(metrics::MqttLink::connecting);
        log::write(log::Level::warning, "MQTT: lost the connection to " + settings.mqtt_broker);
    }
    // What was received is committed before the client goes: a message whose readings committed is not
    // delivered again at the next start.
    while (!in_flight.empty())
        settle(true);
    if (MQTTClient_isConnected(client))
        MQTTClient_disconnect(client, 1000);
}

bool MqttIngester::Impl::connect()
{
    MQTTClient_connectOptions o = MQTTClient_connectOptions_initializer;
    o.keepAliveInterval = kKeepAliveSeconds;
    o.cleansession =
        0; // the broker keeps the subscription and queues QoS 1 messages while the gateway is away
    o.connectTimeout = kConnectTimeoutSeconds;
    o.MQTTVersion = MQTTVERSION_3_1_1;
    if (!settings.mqtt_username.empty())
        o.username = settings.mqtt_username.c_str();
    if (!password.empty())
        o.password = password.c_str();
    MQTTClient_SSLOptions ssl = MQTTClient_SSLOptions_initializer;
    if (settings.mqtt_broker.starts_with("mqtts://")) {
        ssl.enableServerCertAuth = 1;
        ssl.verify = 1; // the host name too
        o.ssl = &ssl;
    }
    if (const int rc = MQTTClient_connect(client, &o); rc != MQTTCLIENT_SUCCESS) {
        log::write(log::Level::warning,
                   "MQTT: cannot connect to " + settings.mqtt_broker + ": " + describe(rc));
        return false;
    }
    std::vector<char*> topics;
    std::vector<int> qos(filters.size(), 1);
    for (auto& f : filters)
        topics.push_back(f.data());
    if (const int rc =
            MQTTClient_subscribeMany(client, static_cast<int>(topics.size()), topics.data(), qos.data());
        rc != MQTTCLIENT_SUCCESS || std::find(qos.begin(), qos.end(), 0x80) != qos.end()) {
        log::write(log::Level::error, "MQTT: the broker refused the subscription to " + settings.mqtt_topics +
                                          ": " +
                                          (rc != MQTTCLIENT_SUCCESS ? describe(rc) : "SUBACK failure"));
        MQTTClient_disconnect(client, 1000);
        return false;
    }
    return true;
}

void MqttIngester::Impl::receive_loop()
{
    while (!stop_requested()) {
        settle(false);
        char* topic = nullptr;
        int topic_len = 0;
        MQTTClient_message* message = nullptr;
        const int rc = MQTTClient_receive(client, &topic, &topic_len, &message, kReceiveWaitMs);
        if (message) {
            const std::string_view t = topic_len > 0
                                           ? std::string_view(topic, static_cast<std::size_t>(topic_len))
                                           : std::string_view(topic);
            handle(t,
                   std::string_view(static_cast<const char*>(message->payload),
                                    static_cast<std::size_t>(message->payloadlen)),
                   messages.handed_over());
            MQTTClient_freeMessage(&message);
            MQTTClient_free(topic);
        }
        if (rc != MQTTCLIENT_SUCCESS && rc != MQTTCLIENT_TOPICNAME_TRUNCATED)
            return;
        if (!MQTTClient_isConnected(client))
            return;
    }
}

void MqttIngester::Impl::handle(std::string_view topic, std::string_view payload, std::string key)
{
    metrics::IngestCounters::add(counters.mqtt_messages);
    auto decoded = decode_payload(payload, device_from_topic(filters, topic), util::now_ms(), settings);
    if (!decoded) {
        // Acknowledged and dropped, so that one bad device cannot wedge the subscription; logged at most once
        // a second, with a count of those not logged.
        metrics::IngestCounters::add(counters.mqtt_invalid);
        messages.release(key);
        const auto now = Clock::now();
        if (now - last_invalid_log >= std::chrono::seconds(1)) {
            log::write(
                log::Level::warning,
                "MQTT: invalid message on '" + std::string(topic) +
                    "', acknowledged and not stored: " + decoded.error() +
                    (invalid_unlogged ? " (" + std::to_string(invalid_unlogged) + " more not logged)" : ""));
            last_invalid_log = now;
            invalid_unlogged = 0;
        } else {
            ++invalid_unlogged;
        }
        return;
    }
    // Bounded like the HTTP side's queue: past half the store's queue, wait for commits before reading on,
    // which leaves the rest with the broker.
    while (in_flight_samples + decoded->samples.size() > settings.store_queue_samples / 2 &&
           !in_flight.empty())
        settle(true);
    const std::uint64_t id = next_id++;
    in_flight_samples += decoded->samples.size();
    in_flight.emplace(id, InFlight{std::move(key), std::move(decoded->samples)});
    if (!submit(id))
        retries.emplace_back(Clock::now() + std::chrono::seconds(settings.retry_after_seconds), id);
}

bool MqttIngester::Impl::submit(std::uint64_t id)
{
    auto copy = in_flight.at(id).samples;
    return writer.submit(std::move(copy), [this, id](store::CommitStatus status) {
        {
            std::lock_guard lk(mutex);
            outcomes.push_back({id, status});
        }
        cv.notify_all();
    });
}

void MqttIngester::Impl::settle(bool wait)
{
    std::vector<Outcome> done;
    {
        std::unique_lock lk(mutex);
        if (wait && !in_flight.empty())
            // A commit is due within the writer's batch time; the timeout only lets retries run meanwhile.
            cv.wait_for(lk, std::chrono::milliseconds(100), [this] { return !outcomes.empty(); });
        done.swap(outcomes);
    }
    for (const auto& o : done) {
        auto it = in_flight.find(o.id);
        if (it == in_flight.end())
            continue;
        if (o.status == store::CommitStatus::committed) {
            metrics::IngestCounters::add(counters.mqtt_committed);
            metrics::IngestCounters::add(counters.mqtt_samples_committed, it->second.samples.size());
            messages.release(it->second.key);
            in_flight_samples -= it->second.samples.size();
            in_flight.erase(it);
        } else if (o.status == store::CommitStatus::stopped) {
            // The file stays: the next start delivers the message again.
            in_flight_samples -= it->second.samples.size();
            in_flight.erase(it);
        } else {
            retries.emplace_back(Clock::now() + std::chrono::seconds(settings.retry_after_seconds), o.id);
        }
    }
    const auto now = Clock::now();
    for (std::size_t i = 0; i < retries.size();) {
        if (retries[i].first > now) {
            ++i;
            continue;
        }
        const auto id = retries[i].second;
        retries[i] = retries.back();
        retries.pop_back();
        if (!submit(id))
            retries.emplace_back(now + std::chrono::seconds(settings.retry_after_seconds), id);
    }
    // Stopping with commits that keep failing: their files stay and the next start delivers them again.
    if (wait && stop_requested() && !retries.empty() && retries.size() == in_flight.size()) {
        in_flight.clear();
        retries.clear();
        in_flight_samples = 0;
    }
}

} // namespace fleetscope::ingest
