# SPDX-License-Identifier: GPL-3.0-or-later
# The fleet simulator against an in-test Beast server on loopback (about 5 s).
fleetscope_add_test(NAME test_sim SOURCES test_sim.cpp LIBS fleetscope_sim
    LABELS integration TIMEOUT 60)
