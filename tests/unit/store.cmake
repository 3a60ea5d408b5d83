# SPDX-License-Identifier: GPL-3.0-or-later
fleetscope_add_test(NAME test_store SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_store.cpp
    LIBS fleetscope_store LABELS unit TIMEOUT 120)
fleetscope_add_test(NAME test_timeline SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_timeline.cpp
    LIBS fleetscope_store LABELS unit TIMEOUT 30)
target_compile_definitions(test_timeline PRIVATE FLEETSCOPE_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
fleetscope_add_test(NAME test_store_codec SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_store_codec.cpp
    LIBS fleetscope_store LABELS unit TIMEOUT 30)
