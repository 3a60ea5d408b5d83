// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// The store benchmarks' client window (bench_store, bench_pg_store): `slots` requests in flight, released by
// commit callbacks on the writer thread. A producer that finds it full sleeps until a quarter of it is free
// again, so that the harness does not pay one thread wake-up per request (the gateway's workers likewise
// resume many fibers per wake-up).

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>

namespace fleetscope::bench {

/// Thread-safe: acquire() on the submitting thread, release() on the store's writer thread.
class SubmitWindow {
public:
    explicit SubmitWindow(int slots)
        : free_(slots)
        , slots_(slots)
        , resume_at_(std::max(1, slots / 4))
    {}
    void acquire()
    {
        std::unique_lock lock(m_);
        if (free_ == 0)
            cv_.wait(lock, [&] { return free_ >= resume_at_; });
        --free_;
    }
    void release()
    {
        bool wake;
        {
            std::lock_guard lock(m_);
            ++free_;
            wake = free_ == resume_at_ || free_ == slots_;
        }
        if (wake)
            cv_.notify_all();
    }
    /// Until every request came back, or `limit` passed.
    void wait_all(std::chrono::seconds limit)
    {
        std::unique_lock lock(m_);
        cv_.wait_for(lock, limit, [&] { return free_ == slots_; });
    }

private:
    std::mutex m_;
    std::condition_variable cv_;
    int free_;
    const int slots_;
    const int resume_at_;
};

} // namespace fleetscope::bench
