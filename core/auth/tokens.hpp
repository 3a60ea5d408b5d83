// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "core/util/result.hpp"

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace fleetscope::auth {

/// The two token files, one format: `NAME SHA256-HEX` per line, NAME a device id or an operator's name. The
/// kind changes only the words of messages (setting, flag, subcommand) so each names its own file.
enum class TokenFile {
    devices,   // --token-file: a token writes its own device's telemetry
    operators, // --operator-token-file: a token reads the fleet and acknowledges alerts from afar
};

/// A SHA-256 digest: how a token is stored and compared, never the token itself.
using Digest = std::array<unsigned char, 32>;

/// SHA-256 of `text`.
Digest sha256(std::string_view text);

/// 64 lower-case hex digits.
std::string to_hex(const Digest& d);

/// A fresh device token: 32 bytes from OpenSSL's CSPRNG as 64 hex digits. Throws std::runtime_error when the
/// generator fails.
std::string generate_token();

/// The name → token-digest table of a token file. Any thread may verify concurrently, and replace() swaps a
/// reloaded table in while they do (SIGHUP): each lookup sees the old entries or the new ones, whole.
/// Each thread keeps its own reference to the entries it last used, so a lookup reads one shared word (the
/// version) and takes the mutex only on the first lookup after a replace.
class TokenTable {
public:
    TokenTable();
    TokenTable(TokenTable&& other) noexcept;
    TokenTable& operator=(TokenTable&& other) noexcept;
    TokenTable(const TokenTable&) = delete;
    TokenTable& operator=(const TokenTable&) = delete;
    ~TokenTable();

    /// Parses the text of a token file: one `NAME SHA256-HEX` per line, separated by spaces or tabs; blank
    /// lines and lines starting with `#` are ignored. The table, or "line N: what is wrong, and the expected
    /// form".
    static util::Result<TokenTable> parse(std::string_view text, TokenFile kind = TokenFile::devices);

    /// Reads and parses `path`: the table, or what is wrong naming the file (and the line).
    static util::Result<TokenTable> load(const std::string& path, TokenFile kind = TokenFile::devices);

    /// Takes the entries of `fresh` (emptied) in place of these, while other threads may be verifying.
    void replace(TokenTable&& fresh);

    /// Whether `token` is the token of `device`, compared as digests in constant time. A device with no entry
    /// gets false, in the same time as a wrong token.
    bool verify(std::string_view device, const Digest& token_digest) const;

    /// The name whose token has this digest, or nothing. Compares with every entry in constant time, so the
    /// time taken says nothing of which entry matched or how close a guess came; meant for the few entries
    /// of an operator file, where the token alone says who is asking.
    /// A copy, as the entries may be replaced once this returns.
    std::optional<std::string> find(const Digest& token_digest) const;

    bool contains(std::string_view device) const;
    std::size_t size() const;

private:
    struct Hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };
    using Map = std::unordered_map<std::string, Digest, Hash, std::equal_to<>>;

    /// The entries as this thread last saw them, refreshed when version_ moved on.
    const Map& entries() const;
    void assign(std::shared_ptr<const Map> map);

    mutable std::mutex mutex_;
    std::shared_ptr<const Map> map_; // guarded by mutex_
    // Process-wide unique per assignment, so a thread's cached entries can never be taken for another
    // table's, even one at the same address after this one is gone.
    std::atomic<std::uint64_t> version_;
};

/// `fleetscope-gateway token add` and `operator add`: generates a token for `name`, appends
/// `name sha256-hex` to the token file at `path` (creating it, with a comment header, when absent) and
/// returns the token, which is stored nowhere in clear. Throws std::runtime_error when the name is invalid,
/// the file is not a valid token file, the name already has a token, or the file cannot be written.
std::string add_token(const std::string& path, std::string_view name, TokenFile kind = TokenFile::devices);

/// The token of an `Authorization: Bearer <token>` field value (the scheme is case-insensitive, RFC 7235), or
/// nothing when the value is of another scheme or malformed.
std::optional<std::string_view> bearer_token(std::string_view field);

/// The device token of an Authorization field as InfluxDB's clients send it (Telegraf among them):
/// `Token <token>` (2.x), `Bearer <token>`, or `Basic` with the token as the password (1.x). Nothing when the
/// value is of another scheme or malformed.
std::optional<std::string> influx_credential(std::string_view field);

} // namespace fleetscope::auth
