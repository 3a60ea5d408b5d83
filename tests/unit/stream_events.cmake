# SPDX-License-Identifier: GPL-3.0-or-later
# The JSON of GET /v1/stream's events, both directions.
fleetscope_add_test(NAME test_stream_events SOURCES test_stream_events.cpp LIBS fleetscope_http
    LABELS unit TIMEOUT 60)
