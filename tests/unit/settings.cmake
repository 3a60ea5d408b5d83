# SPDX-License-Identifier: GPL-3.0-or-later
fleetscope_add_test(NAME test_settings SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_settings.cpp
    LIBS fleetscope_base LABELS unit TIMEOUT 60)
target_compile_definitions(test_settings PRIVATE FLEETSCOPE_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
