// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "core/settings.hpp"

#include <memory>
#include <string>

namespace fleetscope::store {
class Writer;
}
namespace fleetscope::metrics {
struct IngestCounters;
}

namespace fleetscope::ingest {

/// The gateway's MQTT subscription (--mqtt-broker): one Eclipse Paho C client, on a thread of its own, that
/// subscribes to the --mqtt-topic filters at QoS 1 with a persistent session, turns each message into samples
/// (mqtt_payload.hpp), submits them to the store and lets go of the message once they committed
/// (mqtt_persistence.hpp). Reconnects with a doubling back-off between mqtt-reconnect-min and -max.
/// Owned by the Gateway's controlling thread (start, stop); its own thread is the only one that calls Paho;
/// the store's writer thread reaches it only through a queue of outcomes under a mutex.
/// docs/architecture.md, "Ingest protocols".
class MqttIngester {
public:
    /// `state_dir` holds the messages received and not yet committed (MessageStore).
    MqttIngester(Settings settings, store::Writer& writer, metrics::IngestCounters& counters,
                 std::string state_dir);
    ~MqttIngester(); // stop()
    MqttIngester(const MqttIngester&) = delete;
    MqttIngester& operator=(const MqttIngester&) = delete;

    /// Reads the password file, creates the client (Paho restores what the last run left uncommitted) and
    /// starts the thread, which connects. Throws std::runtime_error naming what is wrong.
    void start();

    /// Stops receiving, waits for the readings in flight to commit, disconnects and joins. The store must
    /// still be running. Idempotent.
    void stop();

    /// The client id the broker keeps the session under: --mqtt-client-id, else fleetscope-<gateway name>.
    static std::string client_id(const Settings& s);

    /// Where the messages received and not yet committed are kept: beside an SQLite database
    /// (`<db>-mqtt`), else `mqtt-<client id>` in the default database's folder.
    static std::string state_dir(const Settings& s);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace fleetscope::ingest
