# SPDX-License-Identifier: GPL-3.0-or-later
# Draining before a stop (--drain-time): /healthz 503, connections closed after their answer (about 1 s).
fleetscope_add_test(NAME test_drain SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_drain.cpp
    LIBS fleetscope_test_clients fleetscope_core SQLite::SQLite3 LABELS integration TIMEOUT 60)
# Three gateway processes on one PostgreSQL behind HAProxy: kill -9 of one under load, a drain, a database
# restart under load (about 30 s).
fleetscope_add_test(NAME test_scaleout SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_scaleout.cpp
    LIBS fleetscope_test_clients fleetscope_store fleetscope_test_support Boost::json Threads::Threads LABELS integration TIMEOUT 180 COST 16)
target_compile_definitions(test_scaleout PRIVATE FLEETSCOPE_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
add_dependencies(test_scaleout fleetscope-gateway)
