# SPDX-License-Identifier: GPL-3.0-or-later
# HTTPS at the gateway over real loopback sockets, with a certificate made at run time and OpenSSL's heap
# counted (about 3 s).
fleetscope_add_test(NAME test_https SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_https.cpp
    ${PROJECT_SOURCE_DIR}/tests/support/openssl_allocations.cpp
    LIBS fleetscope_test_tls_client fleetscope_core SQLite::SQLite3 OpenSSL::SSL OpenSSL::Crypto LABELS integration TIMEOUT 60)
