# SPDX-License-Identifier: GPL-3.0-or-later
# The PostgreSQL store against a real PostgreSQL 15 the test starts (initdb as the postgres user when run as
# root): errors at start, commits and reads, partitions, retention, races between gateways, an outage
# (about 25 s; each case in a schema of its own).
fleetscope_add_test(NAME test_pg_store SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_pg_store.cpp
    LIBS fleetscope_store fleetscope_test_support LABELS integration TIMEOUT 180 COST 10)
# The storage boundary's contract, the same cases on SQLite and on PostgreSQL, through open_store and
# open_reader only, and the export and sessions commands on each (a few seconds).
fleetscope_add_test(NAME test_store_contract SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_store_contract.cpp
    LIBS fleetscope_core fleetscope_store fleetscope_test_support LABELS integration TIMEOUT 120 COST 15)
