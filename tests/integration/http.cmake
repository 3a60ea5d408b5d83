# SPDX-License-Identifier: GPL-3.0-or-later
# The gateway over real loopback sockets: the HTTP contract in-process (about 10 s), and the headless binary
# killed with SIGKILL 20 times and stopped with SIGTERM while clients post (about 30 s).
fleetscope_add_test(NAME test_http SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_http.cpp
    LIBS fleetscope_test_clients fleetscope_core SQLite::SQLite3 LABELS integration TIMEOUT 60)
fleetscope_add_test(NAME test_crash SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_crash.cpp
    LIBS fleetscope_test_clients fleetscope_store Boost::json SQLite::SQLite3 Threads::Threads LABELS integration TIMEOUT 120 COST 30)
# test_crash runs the headless binary.
add_dependencies(test_crash fleetscope-gateway)
# Store faults over real sockets: the store-max-bytes quota reached and another process's write lock, each
# answered 503 and recovered from without a restart (about 10 s).
fleetscope_add_test(NAME test_faults SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_faults.cpp
    LIBS fleetscope_test_clients fleetscope_core SQLite::SQLite3 LABELS integration TIMEOUT 60 COST 16)
# Hostile clients (issue 7): oversized requests, smuggling and framing attacks, hostile JSON, slowloris and a
# connection flood past a lowered file limit, against the in-process gateway (about 25 s).
fleetscope_add_test(NAME test_hostile SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_hostile.cpp
    LIBS fleetscope_test_clients fleetscope_core SQLite::SQLite3 LABELS integration TIMEOUT 120 COST 20)
# RFC 9110/9112 conformance: every MUST for an origin server that applies to the gateway, one row each
# (docs/http-conformance.md maps them), over real sockets against the in-process gateway (about 5 s).
fleetscope_add_test(NAME test_conformance SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_conformance.cpp
    LIBS fleetscope_test_clients fleetscope_core SQLite::SQLite3 ZLIB::ZLIB LABELS integration TIMEOUT 60)
