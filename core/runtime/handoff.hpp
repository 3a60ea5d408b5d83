// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "core/runtime/worker.hpp"
#include "core/runtime/yield.hpp"

#include <optional>

namespace fleetscope::runtime {

/// One value that another thread hands to a parked fiber. Delivery goes through the fiber's worker inbox, so
/// a thread completing many requests at once (the store's writer after a commit) wakes each worker with one
/// post instead of one per fiber. Lives in the waiting fiber's frame: construct and wait() on that fiber;
/// deliver() once, from any thread.
template <class T>
class Handoff {
public:
    Handoff()
        : worker_(*Worker::current())
    {}
    Handoff(const Handoff&) = delete;
    Handoff& operator=(const Handoff&) = delete;

    void deliver(T value)
    {
        value_.emplace(std::move(value));
        worker_.inbox().push(&Handoff::resume, this);
    }

    /// Parks the calling fiber until deliver() and returns the value.
    T wait()
    {
        state_.park();
        return std::move(*value_);
    }

private:
    static void resume(void* self) { static_cast<Handoff*>(self)->state_.complete(); }

    Worker& worker_;
    std::optional<T> value_;
    detail::YieldState<> state_;
};

} // namespace fleetscope::runtime
