# SPDX-License-Identifier: GPL-3.0-or-later
# Widget and model tests of the monitor; they run offscreen (QT_QPA_PLATFORM=offscreen, set by fleetscope_add_test).
fleetscope_add_test(NAME test_ui_models SOURCES test_ui_models.cpp LIBS fleetscope_ui LABELS ui TIMEOUT 60)
fleetscope_add_test(NAME test_ui_settings SOURCES test_ui_settings.cpp LIBS fleetscope_ui LABELS ui TIMEOUT 60)
fleetscope_add_test(NAME test_ui_history SOURCES test_ui_history.cpp LIBS fleetscope_ui LABELS ui TIMEOUT 60)
fleetscope_add_test(NAME test_ui_plots SOURCES test_ui_plots.cpp LIBS fleetscope_ui LABELS ui TIMEOUT 60)
fleetscope_add_test(NAME test_ui_gateway SOURCES test_ui_gateway.cpp LIBS fleetscope_test_clients fleetscope_ui LABELS ui TIMEOUT 120)
# Runs the fleetscope program for its command-line checks (--open of a bad file), so it builds that first.
fleetscope_add_test(NAME test_ui_capture SOURCES test_ui_capture.cpp LIBS fleetscope_test_clients fleetscope_ui LABELS ui TIMEOUT 180)
if(TARGET fleetscope)
  add_dependencies(test_ui_capture fleetscope)
endif()
fleetscope_add_test(NAME test_ui_alerts SOURCES test_ui_alerts.cpp LIBS fleetscope_test_clients fleetscope_ui LABELS ui TIMEOUT 120)
# The Source column and the MQTT tile (issue 17), with a real Mosquitto from tests/support.
fleetscope_add_test(NAME test_ui_ingest SOURCES test_ui_ingest.cpp LIBS fleetscope_ui fleetscope_test_support Qt6::Network
                    LABELS ui TIMEOUT 120)
set_target_properties(test_ui_models test_ui_settings test_ui_history test_ui_plots test_ui_gateway test_ui_capture test_ui_alerts
                      test_ui_ingest
                      PROPERTIES AUTOMOC ON)
