# SPDX-License-Identifier: GPL-3.0-or-later
fleetscope_add_test(NAME test_device_model SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_device_model.cpp
    LIBS fleetscope_sim LABELS unit TIMEOUT 60 COST 11)
