# SPDX-License-Identifier: GPL-3.0-or-later
# fleetscope-gateway.service: `systemd-analyze verify` with the built binary, the sysusers.d entry in a scratch
# root, and the gateway run as the unit runs it (STATE_DIRECTORY, the journal's priority prefixes, sd_notify,
# SIGHUP and SIGTERM), about 3 s. A shell script, so registered with add_test. Linux with systemd's tools only.
if(UNIX AND NOT APPLE)
  find_program(FLEETSCOPE_SYSTEMD_ANALYZE systemd-analyze)
  find_program(FLEETSCOPE_PYTHON3 python3)
  if(FLEETSCOPE_SYSTEMD_ANALYZE AND FLEETSCOPE_PYTHON3)
    add_test(NAME service_unit
             COMMAND bash ${PROJECT_SOURCE_DIR}/packaging/check-service.sh ${CMAKE_BINARY_DIR} ${PROJECT_SOURCE_DIR})
    set_tests_properties(service_unit PROPERTIES LABELS integration TIMEOUT 60)
  else()
    message(STATUS "service_unit test off: it needs systemd-analyze and python3 (packaging/setup-debian.sh)")
  endif()
endif()
