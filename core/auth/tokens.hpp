// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <array>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace fleetscope::auth {

/// A SHA-256 digest: how a device token is stored and compared, never the token itself.
using Digest = std::array<unsigned char, 32>;

/// SHA-256 of `text`.
Digest sha256(std::string_view text);

/// 64 lower-case hex digits.
std::string to_hex(const Digest& d);

/// A fresh device token: 32 bytes from OpenSSL's CSPRNG as 64 hex digits. Throws std::runtime_error when the
/// generator fails.
std::string generate_token();

/// The device → token-digest table of a token file. Immutable once loaded: any thread may verify
/// concurrently.
class TokenTable {
public:
    /// Parses the text of a token file: one `DEVICE SHA256-HEX` per line, separated by spaces or tabs; blank
    /// lines and lines starting with `#` are ignored. Returns an empty string when the text is valid, else
    /// "line N: what is wrong, and the expected form"; `table` is then left empty.
    static std::string parse(std::string_view text, TokenTable& table);

    /// Reads and parses `path`. Throws std::runtime_error naming the file and the line on any problem.
    static TokenTable load(const std::string& path);

    /// Whether `token` is the token of `device`, compared as digests in constant time. A device with no entry
    /// gets false, in the same time as a wrong token.
    bool verify(std::string_view device, const Digest& token_digest) const;

    bool contains(std::string_view device) const;
    std::size_t size() const { return digests_.size(); }

private:
    struct Hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };
    std::unordered_map<std::string, Digest, Hash, std::equal_to<>> digests_;
};

/// `fleetscope-gateway token add`: generates a token for `device`, appends `device sha256-hex` to the token
/// file at `path` (creating it, with a comment header, when absent) and returns the token, which is stored
/// nowhere in clear. Throws std::runtime_error when the device id is invalid, the file is not a valid token
/// file, the device already has a token, or the file cannot be written.
std::string add_token(const std::string& path, std::string_view device);

} // namespace fleetscope::auth
