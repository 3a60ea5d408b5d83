// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/runtime/stack_cache.hpp"

#include <new>

#if defined(__SANITIZE_ADDRESS__)
#define FLEETSCOPE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FLEETSCOPE_ASAN 1
#endif
#endif
#if defined(FLEETSCOPE_ASAN)
#include <cstdint>
#include <sanitizer/asan_interface.h>
#include <set>
#endif

#if defined(_WIN32)
#include <windows.h>
#else
#include <sys/mman.h>
#include <unistd.h>
#endif

namespace fleetscope::runtime {

namespace {

std::size_t page_size()
{
#if defined(_WIN32)
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    return si.dwPageSize;
#else
    return static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
#endif
}

void* map_guarded(std::size_t total, std::size_t guard)
{
#if defined(_WIN32)
    void* p = ::VirtualAlloc(nullptr, total, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE);
    if (!p)
        throw std::bad_alloc();
    DWORD old;
    ::VirtualProtect(p, guard, PAGE_READWRITE | PAGE_GUARD, &old);
    return p;
#else
    void* p =
        ::mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        throw std::bad_alloc();
    ::mprotect(p, guard, PROT_NONE); // stacks grow down: the guard is at the low end
    return p;
#endif
}

void unmap(void* p, std::size_t total)
{
#if defined(FLEETSCOPE_ASAN)
    // The frames of fibers that ran here left their redzones poisoned (ASan does not see Boost.Context's
    // switches), and ASan does not clear shadow memory on munmap: the next mapping at these addresses
    // (SQLite's WAL index, say) would be reported as a stack-buffer-underflow when written.
    ASAN_UNPOISON_MEMORY_REGION(p, total);
#endif
#if defined(_WIN32)
    (void)total;
    ::VirtualFree(p, 0, MEM_RELEASE);
#else
    ::munmap(p, total);
#endif
}

#if defined(FLEETSCOPE_ASAN)
/// The stacks this thread's StackCache has handed out, by their top address, for prepare_throw_on_fiber. One
/// cache per thread, so thread-local.
struct InUse {
    std::size_t size = 0;
    std::set<std::uintptr_t> tops;
};
thread_local InUse tl_in_use;
#endif

} // namespace

void prepare_throw_on_fiber() noexcept
{
#if defined(FLEETSCOPE_ASAN)
    const auto frame = reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
    const auto it = tl_in_use.tops.upper_bound(frame);
    if (it == tl_in_use.tops.end() || frame < *it - tl_in_use.size)
        return;
    ASAN_UNPOISON_MEMORY_REGION(reinterpret_cast<void*>(frame), *it - frame);
#endif
}

StackCache::StackCache(std::size_t stack_bytes, std::size_t max_cached)
    : max_cached_(max_cached)
{
    const std::size_t page = page_size();
    size_ = (stack_bytes + page - 1) / page * page;
    free_.reserve(max_cached_);
}

StackCache::~StackCache()
{
    const std::size_t guard = page_size();
    for (auto& s : free_)
        unmap(static_cast<char*>(s.sp) - s.size - guard, s.size + guard);
}

boost::context::stack_context StackCache::allocate()
{
    if (!free_.empty()) {
        auto s = free_.back();
        free_.pop_back();
#if defined(FLEETSCOPE_ASAN)
        // AddressSanitizer does not see Boost.Context's stack switches, so an exception thrown on a fiber
        // leaves the poison of the frames it unwound (ASan warns that it ignores __asan_handle_no_return
        // there). A reused stack starts clean, so that the next fiber's uninstrumented frames are not
        // reported.
        ASAN_UNPOISON_MEMORY_REGION(static_cast<char*>(s.sp) - s.size, s.size);
        tl_in_use.tops.insert(reinterpret_cast<std::uintptr_t>(s.sp));
#endif
        return s;
    }
    const std::size_t guard = page_size();
    char* base = static_cast<char*>(map_guarded(size_ + guard, guard));
    boost::context::stack_context s;
    s.size = size_;
    s.sp = base + guard + size_;
    ++mapped_;
#if defined(FLEETSCOPE_ASAN)
    tl_in_use.size = size_;
    tl_in_use.tops.insert(reinterpret_cast<std::uintptr_t>(s.sp));
#endif
    return s;
}

void StackCache::deallocate(boost::context::stack_context& sctx) noexcept
{
#if defined(FLEETSCOPE_ASAN)
    tl_in_use.tops.erase(reinterpret_cast<std::uintptr_t>(sctx.sp));
#endif
    if (free_.size() < max_cached_) {
        free_.push_back(sctx);
        return;
    }
    const std::size_t guard = page_size();
    unmap(static_cast<char*>(sctx.sp) - sctx.size - guard, sctx.size + guard);
    --mapped_;
}

} // namespace fleetscope::runtime
