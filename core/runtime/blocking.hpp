// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "core/runtime/yield.hpp"

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

namespace fleetscope::runtime {

/// A few plain threads for work that blocks (SQLite reads), so that a worker thread never stalls its other
/// fibers. Thread-safe; owned by the gateway.
class BlockingPool {
public:
    explicit BlockingPool(unsigned threads)
        : pool_(threads)
    {}
    ~BlockingPool() { pool_.join(); }

    /// From a fiber on a worker: runs `fn` on a pool thread, parks the fiber meanwhile, and returns `fn`'s
    /// result (or rethrows its exception) once the completion came back through the worker's io_context.
    template <class F>
    std::invoke_result_t<F&> run(F fn)
    {
        using R = std::invoke_result_t<F&>;
        struct Outcome {
            std::optional<R> value;
            std::exception_ptr error;
        };
        Outcome out = boost::asio::async_initiate<const Yield&, void(Outcome)>(
            [this, &fn](auto handler) {
                boost::asio::post(pool_, [&fn, h = std::move(handler)]() mutable {
                    Outcome o;
                    try {
                        o.value.emplace(fn());
                    } catch (...) {
                        o.error = std::current_exception();
                    }
                    auto ex = boost::asio::get_associated_executor(h);
                    boost::asio::post(ex,
                                      [h = std::move(h), o = std::move(o)]() mutable { h(std::move(o)); });
                });
            },
            yield);
        if (out.error) {
            prepare_throw_on_fiber();
            std::rethrow_exception(out.error);
        }
        return std::move(*out.value);
    }

private:
    boost::asio::thread_pool pool_;
};

} // namespace fleetscope::runtime
