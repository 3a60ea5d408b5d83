# SPDX-License-Identifier: GPL-3.0-or-later
# Frame time of the monitor under a simulated fleet; fails when a bar is missed (p99 frame < 33 ms, sort < 100 ms).
fleetscope_add_test(NAME bench_ui_frame SOURCES bench_ui_frame.cpp LIBS fleetscope_ui LABELS bench TIMEOUT 180 COST 22)
# Reopening a 1,000,000-reading capture: export, load with progress, rebuild and 100x replay frame time.
fleetscope_add_test(NAME bench_ui_capture SOURCES bench_ui_capture.cpp LIBS fleetscope_ui LABELS bench TIMEOUT 600)
# The monitor's own CPU and frame time with its embedded gateway under fleetscope-sim (15,000 devices every 2 s):
# fails when a bar is missed (under 15 % of a core on the Overview and the Devices page, frame p99 < 33 ms).
# ctest runs one round of the phases (about 32 s); run by hand it runs two.
# Skipped (exit 77) when the machine cannot carry the fleet, as on a loaded CI runner: nothing is measured then.
fleetscope_add_test(NAME bench_ui_monitor SOURCES bench_ui_monitor.cpp LIBS fleetscope_ui LABELS bench TIMEOUT 300 COST 32 ARGS --rounds 1)
set_tests_properties(bench_ui_monitor PROPERTIES SKIP_RETURN_CODE 77)
if(TARGET fleetscope-sim)
  add_dependencies(bench_ui_monitor fleetscope-sim)
endif()
