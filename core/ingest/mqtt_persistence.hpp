// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <MQTTClientPersistence.h>
#include <string>

namespace fleetscope::ingest {

/// Paho's persistence interface (MQTTCLIENT_PERSISTENCE_USER) over a directory, one file per key, that keeps
/// each received message until its readings commit.
///
/// Paho's synchronous client acknowledges a QoS 1 PUBLISH (PUBACK) as soon as it reads it, then queues the
/// message and writes it to its persistence (key `q-N` or `q5-N`), and removes that key when
/// MQTTClient_receive hands the message over. This store does not delete on that removal: it remembers the
/// key (handed_over) and deletes the file only when the ingester says the readings committed (release). A
/// crash in between leaves the file, and at the next start Paho restores it into its queue and delivers it
/// again: at least once. docs/architecture.md, "Ingest protocols".
///
/// Used by the MQTT ingester's thread only, which is also the only thread that calls Paho.
class MessageStore {
public:
    /// Creates `dir` (and its parents) when absent. Throws std::runtime_error when it cannot.
    explicit MessageStore(std::string dir);
    MessageStore(const MessageStore&) = delete;
    MessageStore& operator=(const MessageStore&) = delete;

    /// What MQTTClient_createWithOptions takes as persistence_context with MQTTCLIENT_PERSISTENCE_USER.
    MQTTClient_persistence* paho() { return &callbacks_; }

    /// The key of the message MQTTClient_receive just returned (empty for none, e.g. QoS 0), which is now
    /// this store's to delete: call once per message received.
    std::string handed_over();

    /// The readings of the message stored under `key` committed (or the message was invalid and is
    /// dropped): deletes its file.
    void release(const std::string& key);

    const std::string& directory() const { return dir_; }

private:
    static int open(void** handle, const char* client_id, const char* server_uri, void* context);
    static int close(void* handle);
    static int put(void* handle, char* key, int bufcount, char* buffers[], int buflens[]);
    static int get(void* handle, char* key, char** buffer, int* buflen);
    static int remove(void* handle, char* key);
    static int keys(void* handle, char*** keys, int* nkeys);
    static int clear(void* handle);
    static int contains(void* handle, char* key);

    std::string path(const char* key) const;

    std::string dir_;
    std::string handed_over_;
    MQTTClient_persistence callbacks_{};
};

} // namespace fleetscope::ingest
