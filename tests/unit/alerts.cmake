# SPDX-License-Identifier: GPL-3.0-or-later
fleetscope_add_test(NAME test_alerts SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_alerts.cpp
    LIBS fleetscope_alerts LABELS unit TIMEOUT 60)
