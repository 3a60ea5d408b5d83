# SPDX-License-Identifier: GPL-3.0-or-later
# shellcheck shell=bash disable=SC2034 # HZ is read by the scripts that source this file
# What the benchmark scripts share, sourced after own-session.sh: a process's figures from /proc, arithmetic
# in awk, a free loopback port, and the clean-up of the gateway and simulator a run leaves behind. free_port
# reports through the sourcing script's `say`; bench_cleanup uses its GW_PID, SIM_PID and WORK.

HZ=$(getconf CLK_TCK)
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
# utime + stime in clock ticks. Field 2 (comm) may hold spaces, so count from the closing parenthesis.
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | awk '{print $12 + $13}' || echo 0; }
calc() { LC_ALL=C awk "BEGIN { $1 }"; }

free_port() {
    local p
    for _ in $(seq 100); do
        p=$((20000 + RANDOM % 12000)) # below the ephemeral range 32768-60999, so no client port takes it
        if ! ss -Htan "sport = :$p" 2>/dev/null | grep -q .; then
            echo "$p"
            return
        fi
    done
    say "no free port found in 20000-31999"
    exit 1
}

# The EXIT trap of a script that runs one gateway (GW_PID) and one simulator (SIM_PID) at a time in WORK.
bench_cleanup() {
    if [[ -n ${SIM_PID:-} ]]; then kill "$SIM_PID" 2>/dev/null || true; fi
    if [[ -n ${GW_PID:-} ]]; then
        kill "$GW_PID" 2>/dev/null || true
        wait "$GW_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}

# span VALUE... : the smallest and the largest of the values, as "LO HI" (a summary's min-max).
span() { printf '%s\n' "$@" | sort -g | sed -n '1p;$p' | paste -sd' '; }
