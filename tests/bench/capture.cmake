# SPDX-License-Identifier: GPL-3.0-or-later
# A 1,000,000-sample capture exported to each format and reopened, with progress (about 20 s here).
fleetscope_add_test(NAME bench_capture SOURCES ${CMAKE_CURRENT_LIST_DIR}/bench_capture.cpp
    LIBS fleetscope_store LABELS bench TIMEOUT 300)
