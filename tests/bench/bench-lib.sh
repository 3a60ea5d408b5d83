# SPDX-License-Identifier: GPL-3.0-or-later
# shellcheck shell=bash
# Helpers for the benchmark scripts, sourced after own-session.sh: CPU ticks from /proc, free ports, the
# simulator's JSON report, number formatting. (run-bench.sh still carries its own copies of the first few.)

HZ=$(getconf CLK_TCK)
say() { printf '%s\n' "$*" >&2; }
calc() { LC_ALL=C awk "BEGIN { $1 }"; }
# utime + stime of one process in clock ticks. Field 2 (comm) may hold spaces, so count from the closing
# parenthesis.
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | awk '{print $12 + $13}' || echo 0; }
# utime + stime of a process and every child it has or had: its own, its reaped children's (cutime, cstime)
# and its live children's. A PostgreSQL postmaster's backends are its children.
tree_ticks() {
    local root=$1 t c
    t=$(sed 's/^.*) //' "/proc/$root/stat" 2>/dev/null | awk '{print $12 + $13 + $14 + $15}' || echo 0)
    for c in $(pgrep -P "$root" 2>/dev/null); do
        t=$((t + $(cpu_ticks "$c")))
    done
    echo "${t:-0}"
}
# Busy and total ticks of the whole machine (all cores): busy excludes idle and iowait.
machine_ticks() { awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t; exit }' /proc/stat; }

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

jget() { jq -r "$2 // empty" "$1" 2>/dev/null || true; }
jnum() { local v; v=$(jget "$1" "$2"); echo "${v:-0}"; } # numbers that take part in shell arithmetic

num() { # thousands separators, no decimals
    LC_ALL=C awk -v v="$1" 'BEGIN { s = sprintf("%.0f", v); neg = s ~ /^-/; if (neg) s = substr(s, 2); o = "";
        n = length(s); for (i = 1; i <= n; i++) { o = o substr(s, i, 1); if ((n - i) % 3 == 0 && i < n) o = o "," }
        print (neg ? "-" : "") o }'
}
dec() { LC_ALL=C awk -v v="$1" 'BEGIN { printf "%.1f", v }'; }
