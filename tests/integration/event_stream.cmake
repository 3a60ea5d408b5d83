# SPDX-License-Identifier: GPL-3.0-or-later
# GET /v1/stream (issue 16) over real sockets: events, operator tokens from a peer off loopback (in a network
# namespace of the test's own when it runs as root), the subscriber bound and a stalled reader (about 10 s).
fleetscope_add_test(NAME test_event_stream SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_event_stream.cpp
    LIBS fleetscope_test_clients fleetscope_core SQLite::SQLite3 LABELS integration TIMEOUT 120)
