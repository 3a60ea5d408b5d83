// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cstddef>
#include <memory_resource>
#include <type_traits>

namespace fleetscope::net {

/// An allocator over a std::pmr::memory_resource that, unlike std::pmr::polymorphic_allocator, is assignable
/// and propagates, as Beast's basic_fields requires. A connection fiber points it at a monotonic arena on its
/// stack for one request; default-constructed it uses the heap.
template <class T>
class ArenaAllocator {
public:
    using value_type = T;
    using propagate_on_container_copy_assignment = std::true_type;
    using propagate_on_container_move_assignment = std::true_type;
    using propagate_on_container_swap = std::true_type;

    ArenaAllocator() noexcept = default;
    explicit ArenaAllocator(std::pmr::memory_resource* resource) noexcept
        : resource_(resource)
    {}
    template <class U>
    ArenaAllocator(const ArenaAllocator<U>& other) noexcept
        : resource_(other.resource())
    {}

    T* allocate(std::size_t n) { return static_cast<T*>(resource_->allocate(n * sizeof(T), alignof(T))); }
    void deallocate(T* p, std::size_t n) noexcept { resource_->deallocate(p, n * sizeof(T), alignof(T)); }

    std::pmr::memory_resource* resource() const noexcept { return resource_; }

    template <class U>
    bool operator==(const ArenaAllocator<U>& other) const noexcept
    {
        return resource_ == other.resource();
    }

private:
    std::pmr::memory_resource* resource_ = std::pmr::new_delete_resource();
};

} // namespace fleetscope::net
