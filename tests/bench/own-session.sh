# SPDX-License-Identifier: GPL-3.0-or-later
# shellcheck shell=bash disable=SC2034 # BENCH_SCHEDULING is read by the scripts that source this file
# Sourced by the benchmark scripts: runs the calling script again in a session of its own, whose scheduler
# autogroup gets the nice value BENCH_NICE (default -10; 0 leaves everything as it is).
#
# Why: with autogroups (kernel.sched_autogroup_enabled=1), Linux shares the cores evenly between sessions first and
# applies nice only inside a session. On a machine where a few other sessions compile, a benchmark then gets about
# 1/(sessions) of the cores, whatever its own nice value, and its figures measure the compilers more than the
# gateways. A session of its own at a lower nice value gives the benchmark most of the cores back; the scripts still
# print what everything else took meanwhile.
#
# Usage, at the top of a script, before it parses its arguments (they are passed on unchanged):
#   source "$ROOT/tests/bench/own-session.sh" "$@"
# Afterwards BENCH_SCHEDULING says what was done, for the report.

BENCH_NICE=${BENCH_NICE:--10}
BENCH_SCHEDULING="shared session (BENCH_NICE=0)"
if [[ $BENCH_NICE != 0 && -z ${FLEETSCOPE_BENCH_SESSION:-} && -e /proc/self/autogroup ]] &&
    command -v setsid >/dev/null 2>&1; then
    # A background job of a script is never a process-group leader, so setsid(1) does not fork: $! is the new
    # session's leader, and a signal sent to it reaches the script's own cleanup traps.
    FLEETSCOPE_BENCH_SESSION=1 setsid bash "$0" "$@" &
    _bench_child=$!
    trap 'kill -TERM "$_bench_child" 2>/dev/null || true' INT TERM
    _bench_rc=0
    while :; do
        if wait "$_bench_child"; then _bench_rc=0; else _bench_rc=$?; fi
        kill -0 "$_bench_child" 2>/dev/null || break
    done
    exit "$_bench_rc"
fi
if [[ -n ${FLEETSCOPE_BENCH_SESSION:-} ]]; then
    if echo "$BENCH_NICE" 2>/dev/null >/proc/self/autogroup; then
        BENCH_SCHEDULING="own session, autogroup nice $BENCH_NICE (BENCH_NICE=0 to share the caller's)"
    else
        BENCH_SCHEDULING="own session, autogroup nice unchanged (setting $BENCH_NICE needs CAP_SYS_NICE)"
    fi
fi
