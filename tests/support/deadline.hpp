// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// How the test clients bound every wait (http_client.cpp, tls_client.cpp): not for the suites themselves.

#include <boost/asio/io_context.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>

namespace fleetscope::testing::detail {

/// Starts one operation on `io` and drives it for at most `timeout`; an operation still pending then is
/// stopped with `cancel` and reported as timed_out.
template <class Start, class Cancel>
boost::system::error_code run_with_deadline(boost::asio::io_context& io, Start start, Cancel cancel,
                                            std::chrono::milliseconds timeout)
{
    bool done = false;
    boost::system::error_code result;
    io.restart();
    start([&done, &result](boost::system::error_code ec) {
        done = true;
        result = ec;
    });
    io.run_for(timeout);
    if (!done) {
        cancel();
        io.restart();
        io.run();
        if (result == boost::asio::error::operation_aborted)
            result = boost::asio::error::timed_out;
    }
    return result;
}

} // namespace fleetscope::testing::detail
