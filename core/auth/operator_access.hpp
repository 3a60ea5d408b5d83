// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "core/auth/tokens.hpp"
#include "core/settings.hpp"

#include <boost/asio/ip/address.hpp>

#include <optional>
#include <string_view>

namespace fleetscope::auth {

/// What an operator endpoint (fleet reads, alert acknowledgement, the event stream) requires, decided in
/// this one place so that every such endpoint applies the same rule.
enum class OperatorVerdict {
    allowed,         // access control is off, the peer is on loopback, or the token is an operator's
    token_required,  // 401: a remote peer sent no Authorization field
    token_malformed, // 401: the field is not `Bearer <token>`
    token_invalid,   // 401: the token is no operator's (a device token included)
    no_operators,    // 403: a remote peer, access control on, and no operator-token-file to check against
};

/// Whether access control is on: a device token file or an operator token file is set. Only then do peers
/// addresses matter.
bool access_control_enabled(const Settings& s);

/// Whether a peer counts as local: IPv4 loopback (all of 127.0.0.0/8), IPv6 loopback (::1), or IPv4 loopback
/// mapped into IPv6 (how a dual-stack `[::]` listener sees IPv4 peers).
bool is_loopback_peer(const boost::asio::ip::address& peer);

/// The rule, with the tables it checks against. `enforced` is true when access control is on: a device
/// token file or an operator token file is set. The tables outlive the policy. Immutable: any thread.
struct OperatorPolicy {
    bool enforced = false;
    const TokenTable* operators = nullptr; // null: no operator-token-file

    /// Loopback peers (is_loopback_peer) count as local and need no token: whoever runs on the gateway's host
    /// can read its database anyway. `authorization` is the Authorization field's value, or
    /// nothing when the request has none.
    OperatorVerdict check(bool loopback, std::optional<std::string_view> authorization) const;
};

} // namespace fleetscope::auth
