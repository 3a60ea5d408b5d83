// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <boost/context/stack_context.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace fleetscope::runtime {

/// A per-worker cache of guarded fiber stacks. Owned by one worker thread: fibers never migrate, so a stack
/// is always allocated and released on the same thread and the cache needs no lock.
///
/// Each stack is one mapping with a PROT_NONE guard page at its low end (two VMAs). Only connections with a
/// live fiber hold one; parked idle connections hold none, so the connection ceiling never depends on
/// vm.max_map_count.
class StackCache {
public:
    StackCache(std::size_t stack_bytes, std::size_t max_cached);
    ~StackCache();
    StackCache(const StackCache&) = delete;
    StackCache& operator=(const StackCache&) = delete;

    boost::context::stack_context allocate();
    void deallocate(boost::context::stack_context& sctx) noexcept;

    std::size_t cached() const { return free_.size(); }
    std::uint64_t mapped() const { return mapped_; }

private:
    std::size_t size_; // usable bytes, page multiple
    std::size_t max_cached_;
    std::vector<boost::context::stack_context> free_;
    std::uint64_t mapped_ = 0; // stacks currently mapped (in use + cached)
};

/// Call right before throwing on a fiber. AddressSanitizer unpoisons the frames an exception unwinds only on
/// the thread's own stack: it does not see Boost.Context's stack switches, so on a fiber it warns that it
/// ignores
/// __asan_handle_no_return and leaves their poison behind, where later frames of the same fiber trip over it.
/// This does what ASan would: it unpoisons the calling fiber's stack from the caller's frame to its top. A
/// no-op without ASan or outside a stack of this thread's StackCache.
void prepare_throw_on_fiber() noexcept;

/// The StackAllocator handed to boost::fibers::fiber: a pointer to its worker's cache.
class CachedStack {
public:
    explicit CachedStack(StackCache& cache)
        : cache_(&cache)
    {}
    boost::context::stack_context allocate() { return cache_->allocate(); }
    void deallocate(boost::context::stack_context& sctx) noexcept { cache_->deallocate(sctx); }

private:
    StackCache* cache_;
};

} // namespace fleetscope::runtime
