# SPDX-License-Identifier: GPL-3.0-or-later
# Device tokens and HTTPS over real loopback sockets, with a self-signed certificate made at test time (about 3 s).
fleetscope_add_test(NAME test_auth SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_auth.cpp
    LIBS fleetscope_test_tls_client fleetscope_core fleetscope_sim SQLite::SQLite3 OpenSSL::SSL OpenSSL::Crypto LABELS integration TIMEOUT 60)
# Operator access (issue 15) over real sockets, with a peer off loopback in a network namespace of the test's
# own when it runs as root (about 2 s).
fleetscope_add_test(NAME test_operator SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_operator.cpp
    LIBS fleetscope_test_clients fleetscope_core SQLite::SQLite3 LABELS integration TIMEOUT 60)
