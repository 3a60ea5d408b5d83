// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// OpenSSL's heap, counted: what the TLS tests measure an idle session's cost with. Linking
// openssl_allocations.cpp installs counting allocation functions before OpenSSL's first allocation (a static
// initialiser of the highest priority); the counters are atomics, any thread reads them.

namespace fleetscope::testing {

/// Whether the counting functions are installed; false when OpenSSL had allocated before they could be.
bool openssl_counting_installed();

/// Bytes OpenSSL allocated and has not freed, made on threads that are counted: every thread but those
/// that called exclude_this_thread_from_openssl_count() (a test's client side, say).
long long openssl_bytes_counted();

/// Leaves what this thread allocates through OpenSSL from now on out of openssl_bytes_counted().
void exclude_this_thread_from_openssl_count();

} // namespace fleetscope::testing
