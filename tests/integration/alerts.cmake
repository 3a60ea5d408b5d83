# SPDX-License-Identifier: GPL-3.0-or-later
# Alerts end to end over loopback with an in-process gateway (about 5 s), and the headless binary's log lines.
fleetscope_add_test(NAME test_alerts_e2e SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_alerts_e2e.cpp
    LIBS fleetscope_test_clients fleetscope_core SQLite::SQLite3 LABELS integration TIMEOUT 90)
add_dependencies(test_alerts_e2e fleetscope-gateway)
