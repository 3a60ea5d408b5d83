# SPDX-License-Identifier: GPL-3.0-or-later
# The connection layer with a handler of its own, linking fleetscope_net alone: streamed response bodies over
# real sockets, their graceful stop and their write deadline (about 2 s).
fleetscope_add_test(NAME test_stream SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_stream.cpp
    LIBS fleetscope_net LABELS integration TIMEOUT 60)
