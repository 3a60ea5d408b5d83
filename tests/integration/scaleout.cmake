# SPDX-License-Identifier: GPL-3.0-or-later
# Draining before a stop (--drain-time): /healthz 503, connections closed after their answer (about 1 s).
fleetscope_add_test(NAME test_drain SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_drain.cpp
    LIBS fleetscope_core SQLite::SQLite3 LABELS integration TIMEOUT 60)
