# SPDX-License-Identifier: GPL-3.0-or-later
# Alert evaluation per sample (100 rules, 15,000 devices), and the committed-throughput cost of those rules
# under the simulator's closed loop against an in-process gateway (about 25 s at the defaults;
# ctest runs two pairs of on and off instead of three, about 14 s).
fleetscope_add_test(NAME bench_alerts SOURCES ${CMAKE_CURRENT_LIST_DIR}/bench_alerts.cpp
    LIBS fleetscope_core fleetscope_sim LABELS bench TIMEOUT 180 COST 14 ARGS 3 2)
