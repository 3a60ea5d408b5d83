# SPDX-License-Identifier: GPL-3.0-or-later
# Session captures: real posts into an in-process gateway, exported to each format and read back; filters,
# cancel, an export under ingest load, older and newer files, the CLI subcommands (about 20 s).
fleetscope_add_test(NAME test_capture SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_capture.cpp
    LIBS fleetscope_test_clients fleetscope_core SQLite::SQLite3 LABELS integration TIMEOUT 180)
