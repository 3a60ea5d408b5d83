# SPDX-License-Identifier: GPL-3.0-or-later
fleetscope_add_test(NAME test_metrics SOURCES test_metrics.cpp LIBS fleetscope_metrics LABELS unit TIMEOUT 120)
