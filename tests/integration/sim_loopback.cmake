# SPDX-License-Identifier: GPL-3.0-or-later
# fleetscope-sim where the loopback interface has 127.0.0.1 alone, as on macOS and Windows: in a network namespace
# of its own, the simulator must fall back to 127.0.0.1 as its only source address (about 3 s; a shell script,
# so registered with add_test; skipped where a namespace cannot be made).
if(UNIX AND NOT APPLE)
  add_test(NAME sim_loopback_fallback
           COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/check-sim-loopback.sh ${CMAKE_RUNTIME_OUTPUT_DIRECTORY})
  set_tests_properties(sim_loopback_fallback PROPERTIES LABELS integration TIMEOUT 60 SKIP_RETURN_CODE 77)
endif()
