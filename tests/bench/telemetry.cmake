# SPDX-License-Identifier: GPL-3.0-or-later
fleetscope_add_test(NAME bench_codec SOURCES bench_codec.cpp LIBS fleetscope_telemetry
    LABELS bench TIMEOUT 60)
