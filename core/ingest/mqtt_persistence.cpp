// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/ingest/mqtt_persistence.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace fleetscope::ingest {

namespace fs = std::filesystem;

namespace {

MessageStore& self(void* handle)
{
    return *static_cast<MessageStore*>(handle);
}

constexpr std::string_view kTempSuffix = ".part";

/// Paho's queue entries: `q-N` (MQTT 3.1.1) and `q5-N` (MQTT 5).
bool is_queue_key(const char* key)
{
    return key[0] == 'q';
}

} // namespace

MessageStore::MessageStore(std::string dir)
    : dir_(std::move(dir))
{
    std::error_code ec;
    fs::create_directories(dir_, ec);
    if (ec || !fs::is_directory(dir_))
        throw std::runtime_error("MQTT message store " + dir_ +
                                 ": cannot create the directory: " + ec.message());
    callbacks_.context = this;
    callbacks_.popen = &MessageStore::open;
    callbacks_.pclose = &MessageStore::close;
    callbacks_.pput = &MessageStore::put;
    callbacks_.pget = &MessageStore::get;
    callbacks_.premove = &MessageStore::remove;
    callbacks_.pkeys = &MessageStore::keys;
    callbacks_.pclear = &MessageStore::clear;
    callbacks_.pcontainskey = &MessageStore::contains;
}

std::string MessageStore::path(const char* key) const
{
    return (fs::path(dir_) / key).string();
}

std::string MessageStore::handed_over()
{
    return std::exchange(handed_over_, {});
}

void MessageStore::release(const std::string& key)
{
    if (!key.empty())
        std::remove(path(key.c_str()).c_str());
}

int MessageStore::open(void** handle, const char*, const char*, void* context)
{
    *handle = context;
    return 0;
}

int MessageStore::close(void*)
{
    return 0;
}

int MessageStore::put(void* handle, char* key, int bufcount, char* buffers[], int buflens[])
{
    // Written aside and renamed into place, so that a kill mid-write leaves no half message for Paho to
    // restore (it trusts what it reads). No fsync: a killed process leaves its writes in the page cache; a
    // power loss is beyond this store, as it is beyond the broker's own persistence between its autosaves.
    const std::string final_path = self(handle).path(key);
    const std::string temp_path = final_path + std::string(kTempSuffix);
    std::FILE* f = std::fopen(temp_path.c_str(), "wb");
    if (!f)
        return MQTTCLIENT_PERSISTENCE_ERROR;
    bool ok = true;
    for (int i = 0; i < bufcount && ok; ++i)
        ok = buflens[i] == 0 || std::fwrite(buffers[i], 1, static_cast<std::size_t>(buflens[i]), f) ==
                                    static_cast<std::size_t>(buflens[i]);
    ok = std::fclose(f) == 0 && ok;
    ok = ok && std::rename(temp_path.c_str(), final_path.c_str()) == 0;
    return ok ? 0 : MQTTCLIENT_PERSISTENCE_ERROR;
}

int MessageStore::get(void* handle, char* key, char** buffer, int* buflen)
{
    std::FILE* f = std::fopen(self(handle).path(key).c_str(), "rb");
    if (!f)
        return MQTTCLIENT_PERSISTENCE_ERROR;
    std::vector<char> data;
    char chunk[4096];
    for (std::size_t n; (n = std::fread(chunk, 1, sizeof chunk, f)) > 0;)
        data.insert(data.end(), chunk, chunk + n);
    std::fclose(f);
    // Paho frees it with free().
    *buffer = static_cast<char*>(std::malloc(data.empty() ? 1 : data.size()));
    if (!*buffer)
        return MQTTCLIENT_PERSISTENCE_ERROR;
    std::memcpy(*buffer, data.data(), data.size());
    *buflen = static_cast<int>(data.size());
    return 0;
}

int MessageStore::remove(void* handle, char* key)
{
    if (is_queue_key(key)) {
        // Handed to the application: deleted on release(), once its readings committed.
        self(handle).handed_over_ = key;
        return 0;
    }
    std::remove(self(handle).path(key).c_str());
    return 0;
}

int MessageStore::keys(void* handle, char*** keys, int* nkeys)
{
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(self(handle).dir_, ec)) {
        if (!e.is_regular_file())
            continue;
        std::string name = e.path().filename().string();
        if (name.ends_with(kTempSuffix))
            fs::remove(e.path(), ec); // a write that a kill interrupted
        else
            names.push_back(std::move(name));
    }
    *nkeys = static_cast<int>(names.size());
    *keys = nullptr;
    if (names.empty())
        return 0;
    *keys = static_cast<char**>(std::malloc(sizeof(char*) * names.size()));
    if (!*keys)
        return MQTTCLIENT_PERSISTENCE_ERROR;
    for (std::size_t i = 0; i < names.size(); ++i) {
        (*keys)[i] = static_cast<char*>(std::malloc(names[i].size() + 1));
        std::memcpy((*keys)[i], names[i].c_str(), names[i].size() + 1);
    }
    return 0;
}

int MessageStore::clear(void* handle)
{
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(self(handle).dir_, ec))
        fs::remove(e.path(), ec);
    return 0;
}

int MessageStore::contains(void* handle, char* key)
{
    std::error_code ec;
    return fs::exists(self(handle).path(key), ec) ? 0 : MQTTCLIENT_PERSISTENCE_ERROR;
}

} // namespace fleetscope::ingest
