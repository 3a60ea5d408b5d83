# SPDX-License-Identifier: GPL-3.0-or-later
# The Debian package end to end (about 40 s): `cpack -G DEB` and `cpack -G TGZ` in this build tree, the .deb's
# file list and shlibdeps Depends, then the executables unpacked with dpkg-deb -x and run from there. It is a
# shell script, so it is registered with add_test rather than fleetscope_add_test. Linux with dpkg only.
if(UNIX AND NOT APPLE AND FLEETSCOPE_BUILD_UI)
  find_program(FLEETSCOPE_DPKG_DEB dpkg-deb)
  if(FLEETSCOPE_DPKG_DEB)
    add_test(NAME packaging_deb
             COMMAND bash ${PROJECT_SOURCE_DIR}/packaging/check-deb.sh ${CMAKE_BINARY_DIR} ${PROJECT_VERSION})
    set_tests_properties(packaging_deb PROPERTIES LABELS integration TIMEOUT 180)
  endif()
endif()
