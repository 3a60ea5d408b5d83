// SPDX-License-Identifier: GPL-3.0-or-later
// A simulated device and its schedule: back to back (closed loop), every interval from a fixed timetable
// (open loop), or once then idle then once more (hold).
#include "core/sim/device.hpp"

#include "core/sim/connection.hpp"
#include "core/sim/device_model.hpp"
#include "core/sim/payload.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <chrono>

namespace fleetscope::sim {

namespace asio = boost::asio;

namespace {

constexpr auto kTok = asio::as_tuple(asio::use_awaitable);

double seconds_of(Millis d)
{
    return std::chrono::duration<double>(d).count();
}

// One simulated device: its connection, its readings and its request, all living in the coroutine frame.
class Device {
public:
    Device(Session& s, Worker& w, std::size_t index)
        : s_(s)
        , w_(w)
        , index_(index)
        , conn_(s, w, index)
        , model_(s.opt.seed, index, fault_of(s.opt.seed, s.opt.faulty, index), s.opt.metrics,
                 seconds_of(s.opt.interval))
        , payload_(s.opt, index)
        , timer_(w.io.get_executor())
    {}

    asio::awaitable<void> run()
    {
        // The ramp step holds one of the ramp's in-flight slots: the connect, and in hold mode the first post
        // too, so that opening a big fleet measures holding it rather than a burst of 15,000 posts at once.
        const bool first_ok = co_await conn_.open(true);
        if (s_.opt.mode == Mode::hold && first_ok)
            co_await hold_first_post();
        s_.connecting.fetch_sub(1, std::memory_order_relaxed);
        s_.ramped.fetch_add(1, std::memory_order_relaxed);
        s_.notify();
        if (!first_ok)
            co_return;
        co_await wait_gate();
        switch (s_.opt.mode) {
        case Mode::closed:
            co_await closed_loop();
            break;
        case Mode::open:
            co_await open_loop();
            break;
        case Mode::hold:
            co_await hold_check();
            break;
        }
        conn_.close();
    }

private:
    asio::awaitable<void> wait_gate()
    {
        while (!w_.gate_open)
            co_await w_.gate.async_wait(kTok); // cancelled when the controller opens the gate
    }

    // The model's current sample, stamped and serialised. The exchange is awaited by the schedules
    // themselves: one coroutine frame less per request than a helper coroutine would cost.
    Connection::Request& request()
    {
        payload_.fill(model_);
        return payload_.request();
    }

    void record(const Connection::Outcome& out, Clock::time_point from)
    {
        if (out.ec) {
            // A failed reconnect was already counted as a connect error.
            if (out.ec != asio::error::not_connected)
                w_.request_errors.fetch_add(1, std::memory_order_relaxed);
            return;
        }
        const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - from).count();
        const auto latency = static_cast<std::uint64_t>(std::max<std::int64_t>(ns, 0));
        w_.latency.record_ns(latency);
        w_.latency_max_ns = std::max(w_.latency_max_ns, latency);
        w_.responses.fetch_add(1, std::memory_order_relaxed);
        if (out.status >= 200 && out.status < 300)
            w_.ok.fetch_add(1, std::memory_order_relaxed);
    }

    asio::awaitable<void> pause(Clock::duration d)
    {
        timer_.expires_after(d);
        co_await timer_.async_wait(kTok);
    }

    // Back to back: silence is ignored, every connection stays busy. The readings still step by the interval.
    asio::awaitable<void> closed_loop()
    {
        const auto end = w_.start + s_.opt.duration;
        while (Clock::now() < end) {
            const auto t0 = Clock::now();
            model_.advance();
            const Connection::Outcome out = co_await conn_.exchange(request());
            record(out, t0);
        }
    }

    // Each post is due at start + offset + k * interval, the offsets spreading the fleet evenly over one
    // interval. Latency counts from the due time, not the send time: when the gateway stalls, the posts that
    // should have gone out meanwhile carry the stall in their latency instead of silently not happening
    // (coordinated omission). Late posts go out back to back until the schedule is caught up. A silent
    // device lets its slots pass, counted apart.
    asio::awaitable<void> open_loop()
    {
        const auto interval = std::chrono::duration_cast<Clock::duration>(s_.opt.interval);
        const auto offset =
            interval * static_cast<Clock::rep>(index_) / static_cast<Clock::rep>(s_.opt.connections);
        const auto end = w_.start + s_.opt.duration;
        // Past this point nothing more is sent: a stalled gateway must not keep the run going forever.
        const auto drain_deadline = end + s_.opt.request_timeout;
        for (auto due = w_.start + offset; due < end; due += interval) {
            if (Clock::now() >= drain_deadline) {
                w_.unsent +=
                    static_cast<std::uint64_t>((end - due + interval - Clock::duration(1)) / interval);
                break;
            }
            if (!model_.advance()) {
                ++w_.silent;
                continue;
            }
            if (due > Clock::now()) {
                timer_.expires_at(due);
                co_await timer_.async_wait(kTok);
            }
            const Connection::Outcome out = co_await conn_.exchange(request());
            record(out, due);
        }
    }

    asio::awaitable<void> hold_first_post()
    {
        model_.advance();
        const Connection::Outcome out = co_await conn_.exchange(request());
        held_ = out.ok();
        if (held_)
            ++w_.held;
        else
            ++w_.hold_failed;
    }

    asio::awaitable<void> hold_check()
    {
        if (!held_)
            co_return; // already counted as failed
        co_await pause(w_.start + s_.opt.hold - Clock::now());
        // The check must find the connection that was held, not a fresh one: exchange() would reopen a closed
        // socket, so a connection the gateway closed (Connection: close) fails here.
        if (!conn_.is_open()) {
            ++w_.errors.closed;
            ++w_.hold_failed;
            co_return;
        }
        const auto t0 = Clock::now();
        model_.advance();
        const Connection::Outcome out = co_await conn_.exchange(request());
        record(out, t0);
        if (out.ok())
            ++w_.hold_answered;
        else
            ++w_.hold_failed;
    }

    Session& s_;
    Worker& w_;
    std::size_t index_;
    Connection conn_;
    DeviceModel model_;
    Payload payload_;
    Timer timer_;
    bool held_ = false; // hold mode: the first post succeeded
};

} // namespace

asio::awaitable<void> device_main(Session& s, Worker& w, std::size_t index)
{
    Device d(s, w, index);
    co_await d.run();
}

} // namespace fleetscope::sim
