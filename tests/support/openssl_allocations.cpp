// SPDX-License-Identifier: GPL-3.0-or-later
#include "support/openssl_allocations.hpp"

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <openssl/crypto.h>

namespace fleetscope::testing {

namespace {

thread_local bool t_excluded = false;
std::atomic<long long> g_counted{0};

/// Ahead of every allocation: its size, and whether it was counted, so that its free can undo exactly that.
struct alignas(16) Header {
    std::size_t size;
    bool counted;
};

void account(const Header& h, long long sign)
{
    if (h.counted)
        g_counted.fetch_add(sign * static_cast<long long>(h.size), std::memory_order_relaxed);
}

void* counting_malloc(std::size_t n, const char*, int)
{
    auto* h = static_cast<Header*>(std::malloc(sizeof(Header) + n));
    if (h == nullptr)
        return nullptr;
    *h = Header{n, !t_excluded};
    account(*h, +1);
    return h + 1;
}

void counting_free(void* p, const char*, int)
{
    if (p == nullptr)
        return;
    auto* h = static_cast<Header*>(p) - 1;
    account(*h, -1);
    std::free(h);
}

void* counting_realloc(void* p, std::size_t n, const char* file, int line)
{
    if (p == nullptr)
        return counting_malloc(n, file, line);
    if (n == 0) {
        counting_free(p, file, line);
        return nullptr;
    }
    auto* h = static_cast<Header*>(p) - 1;
    const Header before = *h;
    auto* moved = static_cast<Header*>(std::realloc(h, sizeof(Header) + n));
    if (moved == nullptr)
        return nullptr;
    account(before, -1);
    *moved = Header{n, !t_excluded};
    account(*moved, +1);
    return moved + 1;
}

struct Install {
    bool installed = CRYPTO_set_mem_functions(counting_malloc, counting_realloc, counting_free) == 1;
};
// Before every other static initialiser of the program: some (Asio's OpenSSL set-up) allocate through
// OpenSSL.
__attribute__((init_priority(101))) Install g_install;

} // namespace

bool openssl_counting_installed()
{
    return g_install.installed;
}

long long openssl_bytes_counted()
{
    return g_counted.load(std::memory_order_relaxed);
}

void exclude_this_thread_from_openssl_count()
{
    t_excluded = true;
}

} // namespace fleetscope::testing
