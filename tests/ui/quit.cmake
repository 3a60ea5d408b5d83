# SPDX-License-Identifier: GPL-3.0-or-later
# The monitor program quit by SIGTERM, SIGINT and SIGHUP while devices post: exit 0, every acknowledged sample
# kept, the session recorded as stopped (about 10 s). POSIX signals, so not on Windows.
if(TARGET fleetscope AND NOT WIN32)
  fleetscope_add_test(NAME test_ui_quit SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_ui_quit.cpp
      LIBS fleetscope_test_clients fleetscope_store Qt6::Core Boost::headers SQLite::SQLite3 Threads::Threads LABELS ui TIMEOUT 180)
  add_dependencies(test_ui_quit fleetscope fleetscope-gateway)
endif()
