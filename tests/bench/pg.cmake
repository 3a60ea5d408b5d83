# SPDX-License-Identifier: GPL-3.0-or-later
# The PostgreSQL store's group commit against a real PostgreSQL, COPY binary against text. ctest runs one
# round (about 17 s); run by hand it runs two (about 30 s).
fleetscope_add_test(NAME bench_pg_store SOURCES ${CMAKE_CURRENT_LIST_DIR}/bench_pg_store.cpp
    LIBS fleetscope_store fleetscope_test_support LABELS bench TIMEOUT 180 COST 18 ARGS 3 1)
