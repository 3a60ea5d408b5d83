# SPDX-License-Identifier: GPL-3.0-or-later
# The HTTP API against its OpenAPI description (issue 15): real exchanges, successes and errors, validated by
# openapi_check.py with jsonschema (about 3 s).
fleetscope_add_test(NAME test_openapi SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_openapi.cpp
    LIBS fleetscope_test_clients fleetscope_core SQLite::SQLite3 LABELS integration TIMEOUT 60)
target_compile_definitions(test_openapi PRIVATE FLEETSCOPE_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
