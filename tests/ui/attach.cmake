# SPDX-License-Identifier: GPL-3.0-or-later
# The monitor attached (--attach) to two real fleetscope-gateway processes, one killed with SIGKILL and started
# again (about 15 s). POSIX processes and signals, so not on Windows.
if(NOT WIN32)
  fleetscope_add_test(NAME test_ui_attach SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_ui_attach.cpp
      LIBS fleetscope_ui fleetscope_test_support LABELS ui TIMEOUT 120)
  set_target_properties(test_ui_attach PROPERTIES AUTOMOC ON)
  add_dependencies(test_ui_attach fleetscope-gateway)
endif()
# The monitor's reader of the event-stream format, every split of each input (well under a second).
fleetscope_add_test(NAME test_ui_sse_parser SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_ui_sse_parser.cpp
    LIBS fleetscope_ui LABELS ui TIMEOUT 60)
set_target_properties(test_ui_sse_parser PROPERTIES AUTOMOC ON)
# The fleetscope program itself in attach mode: its refusals, its operator token refused and accepted from a peer off
# loopback (in a network namespace of its own when run as root), a live and a killed gateway in its log, SIGTERM
# (about 5 s). It runs the two programs, so they are built first.
if(TARGET fleetscope AND NOT WIN32)
  fleetscope_add_test(NAME test_ui_attach_cli SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_ui_attach_cli.cpp
      LIBS Qt6::Core LABELS ui TIMEOUT 120)
  set_target_properties(test_ui_attach_cli PROPERTIES AUTOMOC ON)
  add_dependencies(test_ui_attach_cli fleetscope fleetscope-gateway)
endif()
