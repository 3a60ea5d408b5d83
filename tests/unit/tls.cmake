# SPDX-License-Identifier: GPL-3.0-or-later
# net::TlsStream over real loopback sockets with a certificate made at run time (about 1 s).
fleetscope_add_test(NAME test_tls_stream SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_tls_stream.cpp
    ${PROJECT_SOURCE_DIR}/tests/support/openssl_allocations.cpp
    LIBS fleetscope_tls OpenSSL::SSL OpenSSL::Crypto LABELS unit TIMEOUT 60)
