# SPDX-License-Identifier: GPL-3.0-or-later
fleetscope_add_test(NAME test_histogram SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_histogram.cpp
    LIBS fleetscope_sim LABELS unit TIMEOUT 60)
