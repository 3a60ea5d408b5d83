# SPDX-License-Identifier: GPL-3.0-or-later
# QCustomPlot for the monitor's plots. First the installed QCustomPlotQt6 CMake package (Debian and Ubuntu:
# libqcustomplot-dev); when there is none (vcpkg has no QCustomPlot port, so Windows and macOS), the official
# source tarball is fetched at configure time, checked against a pinned SHA-256 and built here as a static library.
# Either way the result is the target QCustomPlotQt6::QCustomPlotQt6 and QCustomPlotQt6_FOUND, so
# set_package_properties()/feature_summary() treat both paths alike.
#
# FLEETSCOPE_QCUSTOMPLOT_SHA256 defaults to the digest that two independent package recipes (nixpkgs' and
# xmake-repo's qcustomplot) both pin for this exact URL. It was not recomputed from a download when this file was
# written (no network there); if the hash check fails, verify the tarball yourself and set the variable.
find_package(QCustomPlotQt6 CONFIG QUIET)
if(QCustomPlotQt6_FOUND)
  return()
endif()

set(FLEETSCOPE_QCUSTOMPLOT_URL "https://www.qcustomplot.com/release/2.1.1/QCustomPlot-source.tar.gz"
    CACHE STRING "QCustomPlot source tarball, used when no QCustomPlotQt6 CMake package is installed")
set(FLEETSCOPE_QCUSTOMPLOT_SHA256 "5e2d22dec779db8f01f357cbdb25e54fbcf971adaee75eae8d7ad2444487182f"
    CACHE STRING "SHA-256 of FLEETSCOPE_QCUSTOMPLOT_URL (64 hex digits)")
string(LENGTH "${FLEETSCOPE_QCUSTOMPLOT_SHA256}" _fleetscope_hash_length)
if(NOT FLEETSCOPE_QCUSTOMPLOT_SHA256 MATCHES "^[0-9a-fA-F]+$" OR NOT _fleetscope_hash_length EQUAL 64)
  message(FATAL_ERROR "FLEETSCOPE_QCUSTOMPLOT_SHA256 must be the 64 hex digits of the SHA-256 of "
                      "${FLEETSCOPE_QCUSTOMPLOT_URL}, got '${FLEETSCOPE_QCUSTOMPLOT_SHA256}'")
endif()

message(STATUS "QCustomPlotQt6 not installed: building QCustomPlot from ${FLEETSCOPE_QCUSTOMPLOT_URL}")
include(FetchContent)
FetchContent_Declare(qcustomplot
    URL "${FLEETSCOPE_QCUSTOMPLOT_URL}"
    URL_HASH SHA256=${FLEETSCOPE_QCUSTOMPLOT_SHA256}
    DOWNLOAD_EXTRACT_TIMESTAMP ON)
# The tarball has no CMakeLists.txt, so this only downloads, verifies and unpacks it.
FetchContent_MakeAvailable(qcustomplot)

find_package(Qt6 6.4 REQUIRED COMPONENTS Widgets PrintSupport)
add_library(fleetscope_qcustomplot STATIC
    ${qcustomplot_SOURCE_DIR}/qcustomplot.cpp ${qcustomplot_SOURCE_DIR}/qcustomplot.h)
set_target_properties(fleetscope_qcustomplot PROPERTIES AUTOMOC ON POSITION_INDEPENDENT_CODE ON)
# SYSTEM: its warnings are not ours to fix.
target_include_directories(fleetscope_qcustomplot SYSTEM PUBLIC ${qcustomplot_SOURCE_DIR})
target_link_libraries(fleetscope_qcustomplot PUBLIC Qt6::Widgets Qt6::PrintSupport)
add_library(QCustomPlotQt6::QCustomPlotQt6 ALIAS fleetscope_qcustomplot)
set(QCustomPlotQt6_FOUND TRUE)

# find_package() above recorded QCustomPlotQt6 as not found; feature_summary() reads these global lists.
get_property(_fleetscope_not_found GLOBAL PROPERTY PACKAGES_NOT_FOUND)
list(REMOVE_ITEM _fleetscope_not_found QCustomPlotQt6)
set_property(GLOBAL PROPERTY PACKAGES_NOT_FOUND ${_fleetscope_not_found})
set_property(GLOBAL APPEND PROPERTY PACKAGES_FOUND QCustomPlotQt6)
unset(_fleetscope_not_found)
