# SPDX-License-Identifier: GPL-3.0-or-later
# The headless gateway as a service, with the real binary: --config FILE, and SIGHUP rereading the token file
# and the alert rules while 16 keep-alive connections stay open (about 5 s).
fleetscope_add_test(NAME test_service SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_service.cpp
    LIBS fleetscope_test_clients Boost::json Threads::Threads LABELS integration TIMEOUT 120)
add_dependencies(test_service fleetscope-gateway)
