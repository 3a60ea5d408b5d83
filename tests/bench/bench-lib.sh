# SPDX-License-Identifier: GPL-3.0-or-later
# shellcheck shell=bash
# Helpers for the scale-out benchmark, sourced after own-session.sh, on top of proc-helpers.sh (HZ, cpu_ticks,
# calc, free_port): CPU ticks of a process tree and of the machine, the simulator's JSON report, number
# formatting.

# shellcheck source=tests/bench/proc-helpers.sh
source "$(dirname "${BASH_SOURCE[0]}")/proc-helpers.sh"
say() { printf '%s\n' "$*" >&2; }
# utime + stime of a process and every child it has or had: its own, its reaped children's (cutime, cstime)
# and its live children's. A PostgreSQL postmaster's backends are its children.
tree_ticks() {
    local root=$1 t c v
    t=$(sed 's/^.*) //' "/proc/$root/stat" 2>/dev/null | awk '{print $12 + $13 + $14 + $15}' || echo 0)
    for c in $(pgrep -P "$root" 2>/dev/null); do
        v=$(cpu_ticks "$c") # empty when the child ended meanwhile
        t=$((t + ${v:-0}))
    done
    echo "${t:-0}"
}
# Busy and total ticks of the whole machine (all cores): busy excludes idle and iowait.
machine_ticks() { awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t; exit }' /proc/stat; }

jget() { jq -r "$2 // empty" "$1" 2>/dev/null || true; }
jnum() { local v; v=$(jget "$1" "$2"); echo "${v:-0}"; } # numbers that take part in shell arithmetic

num() { # thousands separators, no decimals
    LC_ALL=C awk -v v="$1" 'BEGIN { s = sprintf("%.0f", v); neg = s ~ /^-/; if (neg) s = substr(s, 2); o = "";
        n = length(s); for (i = 1; i <= n; i++) { o = o substr(s, i, 1); if ((n - i) % 3 == 0 && i < n) o = o "," }
        print (neg ? "-" : "") o }'
}
dec() { LC_ALL=C awk -v v="$1" 'BEGIN { printf "%.1f", v }'; }
