# SPDX-License-Identifier: GPL-3.0-or-later
fleetscope_add_test(NAME test_codec SOURCES test_codec.cpp LIBS fleetscope_telemetry
    LABELS unit TIMEOUT 60)
fleetscope_add_test(NAME test_line_protocol SOURCES test_line_protocol.cpp LIBS fleetscope_telemetry
    LABELS unit TIMEOUT 60)
