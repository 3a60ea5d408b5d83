# SPDX-License-Identifier: GPL-3.0-or-later
# GET /metrics of a real gateway: histograms, rejections by reason, process_* figures, and `promtool check
# metrics` on the whole exposition (issue 15; about 2 s).
fleetscope_add_test(NAME test_prometheus SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_prometheus.cpp
    LIBS fleetscope_test_clients fleetscope_core SQLite::SQLite3 LABELS integration TIMEOUT 60)
