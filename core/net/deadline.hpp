// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "core/settings.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/intrusive/list.hpp>

#include <array>
#include <chrono>
#include <cstdint>

namespace fleetscope::net {

using Clock = std::chrono::steady_clock;

/// What a connection is waiting for; each phase has its own timeout setting.
enum class Phase : std::uint8_t { none, park, idle, header, body, write };

using DeadlineHook =
    boost::intrusive::list_base_hook<boost::intrusive::tag<struct DeadlineTag>,
                                     boost::intrusive::link_mode<boost::intrusive::auto_unlink>>;

/// A connection's deadline, linked into its worker's DeadlineWheel while armed. Touched only on that
/// worker's thread.
struct Deadline : DeadlineHook {
    Clock::time_point at{};
    Phase armed = Phase::none;
    Phase expired = Phase::none; // the armed deadline passed and the wheel cancelled the connection's I/O
};

/// The deadlines of one worker's connections. Every deadline of one phase has the same timeout, so arming
/// appends in expiry order to that phase's FIFO list, and one coarse timer expires the heads: two pointers
/// per connection instead of a timer each. Lives on its worker's thread.
class DeadlineWheel {
public:
    /// Called for each deadline that passes, on the worker's thread: it cancels the waiting I/O, which then
    /// completes with operation_aborted and sees `expired`.
    using Expire = void (*)(Deadline&);

    DeadlineWheel(boost::asio::io_context& io, const Settings& settings, Expire expire);

    /// Starts the timer; until then deadlines are armed but never expire.
    void start();
    /// Stops the timer for good.
    void stop();

    /// Arms `d` for `phase`, replacing what it had armed, and clears `expired`.
    void arm(Deadline& d, Phase phase);
    void disarm(Deadline& d);

private:
    void tick();

    using List = boost::intrusive::list<Deadline, boost::intrusive::base_hook<DeadlineHook>,
                                        boost::intrusive::constant_time_size<false>>;

    std::array<List, 6> lists_;                 // indexed by Phase
    std::array<Clock::duration, 6> timeouts_{}; // indexed by Phase
    boost::asio::steady_timer ticker_;
    Clock::duration tick_;
    Expire expire_;
    bool stopped_ = false;
};

/// A deadline for the scope of one wait: arms on construction, disarms on destruction. The waits inside
/// check `passed()` (through the Deadline) before each operation, since a deadline that passes while an
/// operation's completion is queued cancels nothing.
class DeadlineScope {
public:
    DeadlineScope(DeadlineWheel& wheel, Deadline& deadline, Phase phase)
        : wheel_(wheel)
        , deadline_(deadline)
        , phase_(phase)
    {
        wheel.arm(deadline, phase);
    }
    ~DeadlineScope() { wheel_.disarm(deadline_); }
    DeadlineScope(const DeadlineScope&) = delete;
    DeadlineScope& operator=(const DeadlineScope&) = delete;

    /// This scope's deadline passed: its wait ended, or will end, for that reason.
    bool passed() const { return deadline_.expired == phase_; }

private:
    DeadlineWheel& wheel_;
    Deadline& deadline_;
    Phase phase_;
};

} // namespace fleetscope::net
