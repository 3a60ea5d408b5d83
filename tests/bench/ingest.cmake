# SPDX-License-Identifier: GPL-3.0-or-later
# Line protocol against JSON through one gateway, and MQTT through a real Mosquitto (issue 17); run it by hand:
# build/release/bin/bench_ingest [seconds] [connections] [messages].
add_executable(bench_ingest ${CMAKE_CURRENT_LIST_DIR}/bench_ingest.cpp)
target_link_libraries(bench_ingest PRIVATE fleetscope_core fleetscope_test_support eclipse-paho-mqtt-c::paho-mqtt3as)
set_target_properties(bench_ingest PROPERTIES AUTOMOC OFF)
