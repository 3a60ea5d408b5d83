# SPDX-License-Identifier: GPL-3.0-or-later
fleetscope_add_test(NAME test_runtime SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_runtime.cpp
    LIBS fleetscope_runtime LABELS unit TIMEOUT 120)
