# SPDX-License-Identifier: GPL-3.0-or-later
fleetscope_add_test(NAME test_util SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_util.cpp
    LIBS fleetscope_util LABELS unit TIMEOUT 60)
