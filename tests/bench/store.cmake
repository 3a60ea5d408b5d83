# SPDX-License-Identifier: GPL-3.0-or-later
fleetscope_add_test(NAME bench_store SOURCES ${CMAKE_CURRENT_LIST_DIR}/bench_store.cpp
    LIBS fleetscope_store LABELS bench TIMEOUT 120)
