// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "core/runtime/stack_cache.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/fiber/context.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/system_error.hpp>

#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

namespace fleetscope::runtime {

/// The completion token that parks the calling fiber until an Asio operation completes:
///     std::size_t n = socket.async_read_some(buf, runtime::yield[ec]);
/// The fiber is suspended, its thread runs other fibers and the reactor, and the completion handler schedules
/// the fiber again. The handler's associated executor is the calling worker's io_context, so completions
/// posted from other threads (the store's writer) come back through that io_context. No heap allocation per
/// operation: the operation's state lives in the suspended fiber's stack frame.
///
/// Without `[ec]`, an error is thrown as boost::system::system_error.
class Yield {
public:
    Yield operator[](boost::system::error_code& ec) const
    {
        Yield y(*this);
        y.ec_ = &ec;
        return y;
    }
    boost::system::error_code* error_out() const { return ec_; }

private:
    boost::system::error_code* ec_ = nullptr;
};

inline constexpr Yield yield{};

/// The io_context of the worker thread the calling fiber runs on; set by runtime::Worker for its thread.
boost::asio::io_context& this_worker_io();

namespace detail {

/// Lives in the suspended fiber's frame for the duration of one operation.
template <class... Ts>
struct YieldState {
    boost::fibers::context* fiber = boost::fibers::context::active();
    boost::fibers::detail::spinlock lock;
    bool completed = false;
    std::optional<std::tuple<Ts...>> values;

    void park()
    {
        boost::fibers::detail::spinlock_lock lk(lock);
        if (!completed)
            fiber->suspend(lk); // releases lk once the fiber is off the CPU
    }

    template <class... Args>
    void complete(Args&&... args)
    {
        values.emplace(std::forward<Args>(args)...);
        boost::fibers::detail::spinlock_lock lk(lock);
        completed = true;
        // Capture before unlocking: once unlocked the fiber may run and destroy this state.
        boost::fibers::context* f = fiber;
        lk.unlock();
        // Completed inline by the initiating fiber itself (before it parked): it is running, not waiting, and
        // must not be put on the ready queue.
        if (f != boost::fibers::context::active())
            boost::fibers::context::active()->schedule(f);
    }
};

template <class... Ts>
class YieldHandler {
public:
    using executor_type = boost::asio::io_context::executor_type;

    YieldHandler(YieldState<Ts...>* state, executor_type ex)
        : state_(state)
        , ex_(ex)
    {}

    template <class... Args>
    void operator()(Args&&... args)
    {
        state_->complete(std::forward<Args>(args)...);
    }

    executor_type get_executor() const noexcept { return ex_; }

private:
    YieldState<Ts...>* state_;
    executor_type ex_;
};

template <class T>
using Decayed = std::decay_t<T>;

// Maps a completion signature to what the initiating function returns to the fiber.
template <class... Ts>
struct YieldResult {
    static void take(std::tuple<Ts...>&&, const Yield&) {}
};
template <>
struct YieldResult<boost::system::error_code> {
    static void take(std::tuple<boost::system::error_code>&& t, const Yield& y)
    {
        auto& ec = std::get<0>(t);
        if (auto* out = y.error_out())
            *out = ec;
        else if (ec) {
            prepare_throw_on_fiber();
            throw boost::system::system_error(ec);
        }
    }
};
template <class T>
struct YieldResult<boost::system::error_code, T> {
    static T take(std::tuple<boost::system::error_code, T>&& t, const Yield& y)
    {
        auto& ec = std::get<0>(t);
        if (auto* out = y.error_out())
            *out = ec;
        else if (ec) {
            prepare_throw_on_fiber();
            throw boost::system::system_error(ec);
        }
        return std::move(std::get<1>(t));
    }
};
template <class T>
struct YieldResult<T> {
    static T take(std::tuple<T>&& t, const Yield&) { return std::move(std::get<0>(t)); }
};

} // namespace detail
} // namespace fleetscope::runtime

template <class R, class... Args>
struct boost::asio::async_result<fleetscope::runtime::Yield, R(Args...)> {
    // The return type is spelled out so that Asio's completion_token_for checks never instantiate the body.
    using return_type = decltype(fleetscope::runtime::detail::YieldResult<std::decay_t<Args>...>::take(
        std::declval<std::tuple<std::decay_t<Args>...>&&>(),
        std::declval<const fleetscope::runtime::Yield&>()));

    template <class Initiation, class... InitArgs>
    static return_type initiate(Initiation&& init, fleetscope::runtime::Yield token, InitArgs&&... args)
    {
        using namespace fleetscope::runtime::detail;
        YieldState<Decayed<Args>...> state;
        std::forward<Initiation>(init)(
            YieldHandler<Decayed<Args>...>(&state, fleetscope::runtime::this_worker_io().get_executor()),
            std::forward<InitArgs>(args)...);
        state.park();
        return YieldResult<Decayed<Args>...>::take(std::move(*state.values), token);
    }
};
