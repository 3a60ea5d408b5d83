# SPDX-License-Identifier: GPL-3.0-or-later
# The project configures with no Qt to be found and the monitor and Qt tests off (the headless preset), and the
# generated build refers to no Qt (a few seconds; a shell script, so registered with add_test). test.sh's
# headless step and CI also build and package that tree.
if(UNIX AND NOT APPLE AND CMAKE_GENERATOR STREQUAL "Ninja")
  add_test(NAME headless_configure
           COMMAND bash ${PROJECT_SOURCE_DIR}/packaging/check-headless.sh ${PROJECT_SOURCE_DIR}
                   ${CMAKE_BINARY_DIR}/headless-configure)
  set_tests_properties(headless_configure PROPERTIES LABELS integration TIMEOUT 120)
endif()
