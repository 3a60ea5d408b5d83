// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/auth/operator_access.hpp"

namespace fleetscope::auth {

bool access_control_enabled(const Settings& s)
{
    return !s.token_file.empty() || !s.operator_token_file.empty();
}

bool is_loopback_peer(const boost::asio::ip::address& peer)
{
    if (peer.is_loopback())
        return true;
    if (!peer.is_v6())
        return false;
    const auto v6 = peer.to_v6();
    return v6.is_v4_mapped() &&
           boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, v6).is_loopback();
}

OperatorVerdict OperatorPolicy::check(bool loopback, std::optional<std::string_view> authorization) const
{
    if (!enforced || loopback)
        return OperatorVerdict::allowed;
    if (!operators)
        return OperatorVerdict::no_operators;
    if (!authorization)
        return OperatorVerdict::token_required;
    const auto token = bearer_token(*authorization);
    if (!token)
        return OperatorVerdict::token_malformed;
    return operators->find(sha256(*token)) ? OperatorVerdict::allowed : OperatorVerdict::token_invalid;
}

} // namespace fleetscope::auth
