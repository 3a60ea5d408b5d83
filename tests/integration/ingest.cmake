# SPDX-License-Identifier: GPL-3.0-or-later
# Ingest beside JSON (issue 17): InfluxDB line protocol with real curl (about 3 s), and MQTT through a real
# Mosquitto with mosquitto_pub and the real gateway binary, restarts and kill -9 included (about 30 s).
fleetscope_add_test(NAME test_influx_write SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_influx_write.cpp
    LIBS fleetscope_test_clients fleetscope_core SQLite::SQLite3 LABELS integration TIMEOUT 120)
fleetscope_add_test(NAME test_mqtt SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_mqtt.cpp
    LIBS fleetscope_test_clients fleetscope_test_support fleetscope_base Boost::json SQLite::SQLite3 LABELS integration TIMEOUT 300 COST 12)
add_dependencies(test_mqtt fleetscope-gateway)
