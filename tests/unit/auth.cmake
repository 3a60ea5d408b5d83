# SPDX-License-Identifier: GPL-3.0-or-later
fleetscope_add_test(NAME test_tokens SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_tokens.cpp LIBS fleetscope_auth
    LABELS unit TIMEOUT 60)
