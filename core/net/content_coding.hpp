// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "core/net/message.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace fleetscope::net {

/// The content codings a request body may arrive in (RFC 9110 8.4.1); identity is none.
enum class Coding : std::uint8_t { identity, gzip, deflate };

/// The name of `coding` as Content-Encoding writes it.
std::string_view coding_name(Coding coding);

/// How decoding a body ended.
struct Decoded {
    enum class Status : std::uint8_t { ok, too_large, corrupt } status = Status::ok;
    std::string detail; // corrupt: what zlib found wrong
};

/// Decodes `coded` (gzip, possibly several members, or deflate in the zlib format) into `out` with zlib,
/// producing at most `limit` bytes: a body that decodes to more is too_large as soon as its output passes the
/// limit, so a small body that expands enormously (a zip bomb) costs memory in proportion to `limit`, never
/// to what it would expand to. `out` grows by doubling on its allocator. Any thread.
Decoded decode_content(Coding coding, std::string_view coded, Body::value_type& out, std::size_t limit);

} // namespace fleetscope::net
