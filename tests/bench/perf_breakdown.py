#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Where a gateway's CPU goes, from a `perf record -g` profile: one table per thread and one for the process,
in categories that hold for both FleetScope and the Go peer (HTTP parsing, JSON, SQLite, syscalls, allocation...).

Usage: perf script -i FILE -F tid,period,ip,sym,dso | perf_breakdown.py [--requests N] [--cpu-seconds S]

Each sample is put in one category. Kernel samples go by the syscall in their kernel call chain (the kernel's
chains are reliable); user samples go by their leaf symbol and library, because the release builds keep no frame
pointers and their user chains stop at the leaf. With --requests, the tables also show CPU microseconds per
request; --cpu-seconds (utime+stime over the same window, from /proc) scales the samples to CPU time, otherwise
the sample periods are used.
"""
import argparse
import re
import sys
from collections import Counter, defaultdict

# (category, regular expression on "symbol (library)") for user-space leaves, first match wins.
USER_RULES = [
    ("SQLite (library)", r"\(.*libsqlite3"),
    ("SQLite driver (database/sql, mattn, cgo)", r"database/sql|go-sqlite3|_Cfunc_|runtime\.cgocall|asmcgocall|"
                                                  r"cgocallback|exitsyscall|entersyscall|_cgo_"),
    ("allocation (malloc/free, Go GC)", r"\bmalloc\b|_int_malloc|_int_free|\bfree\b|cfree|unlink_chunk|"
                                        r"malloc_consolidate|tcache|operator new|operator delete|_Znwm|_ZdlPv|"
                                        r"mallocgc|nextFreeFast|heapBits|runtime\.(gc|scan|mark|sweep|grey|"
                                        r"findObject|wbBuf|bgsweep|bgscavenge|mspan|mcache|mcentral|mheap|"
                                        r"memclr|newobject|makeslice|makemap|growslice|newarray|typedmemmove|"
                                        r"bulkBarrier|scanobject|scanblock|markroot|step|pcvalue|findfunc|"
                                        r"funcInfo|getStackMap|gentraceback|adjustframe|scanstack|"
                                        r"scanframeworker|readvarint|"
                                        r"funcdata|pcdatavalue)|runtime\.\(\*(mheap|mspan|mcache|mcentral|"
                                        r"gcWork|gcControllerState|sweepLocked|spanSet|gcBits|pageAlloc|"
                                        r"stackScanState|unwinder)\)|ArenaAllocator"),
    ("locks (mutex, spinlock)", r"pthread_mutex|spinlock|lll_lock|lll_unlock|pthread_cond|sync\.\(\*(Mutex|"
                                r"RWMutex)\)|runtime\.(lock|unlock)"),
    ("JSON decode and validation", r"boost::json|telemetry::|decode_samples|SampleHandler|valid_identifier|"
                                   r"encoding/json|main\.(decode|check|validName)|strconv\.|unicode/utf8|reflect\."),
    ("HTTP request parsing", r"basic_parser|parse_fields|do_field|basic_fields|http::detail::|request_parser|"
                             r"net/http\.(readRequest|\(\*conn\)\.readRequest|parseRequestLine|"
                             r"\(\*body\)|\(\*connReader\)|readTransfer|\(\*transferReader\)|Header\.|"
                             r"CanonicalHeaderKey|validMethod|parseHTTPVersion)|net/textproto|bufio\.\(\*Reader\)|"
                             r"net/url|mime\.|get_keep_alive"),
    ("HTTP response writing", r"write_response|serializer|buffers_cat|chunk_crlf|buffers_prefix|"
                              r"net/http\.(\(\*response\)|\(\*chunkWriter\)|checkConnErrorWriter|"
                              r"appendTime|Header\.write|\(\*conn\)\.finalFlush)|bufio\.\(\*Writer\)"),
    ("HTTP handler and routing", r"http::Api|http::Router|net/http\.\(\*ServeMux\)|net/http\.serverHandler|"
                                 r"net/http\.HandlerFunc|net/http\.\(\*conn\)\.serve|main\.\(\*store\)\.handle|"
                                 r"context\.|http::Arena"),
    ("fiber and goroutine scheduling", r"boost::fibers|libboost_fiber|libboost_context|fcontext|"
                                       r"AsioScheduler|YieldState|runtime::|Yield|"
                                       r"runtime\.(schedule|findrunnable|gopark|goready|ready|casgstatus|"
                                       r"mcall|gogo|park_m|execute|runqget|runqput|runqsteal|stealWork|wirep|"
                                       r"acquirep|releasep|chansend|chanrecv|send|recv|selectgo|"
                                       r"goschedIfBusy|mPark|notesleep|notewakeup|futexsleep|futexwakeup|"
                                       r"stopm|startm|wakep|handoffp|resetspinning|checkTimers|runtimer|"
                                       r"goexit|newproc|systemstack|morestack|newstack|copystack|gfget|"
                                       r"gfput|getitab|assertE2I|procyield|osyield|nanotime|"
                                       r"usleep|sysmon|retake|netpollblock|netpollready|"
                                       r"\(\*waitq\)|modtimer|deltimer|addtimer|doaddtimer|cleantimers)"),
    ("socket I/O wrappers (Asio, Go netpoll)", r"boost::asio|internal/poll|net\.\(\*(conn|netFD)\)|"
                                               r"runtime\.(netpoll|poll_runtime|pollWork)|syscall\.|"
                                               r"runtime/internal/syscall|__libc_(sendmsg|recvmsg|read|write)|"
                                               r"\bsendmsg\b|\brecvmsg\b|epoll_ctl|epoll_wait|\bread\b|\bwrite\b"),
    ("store writer (own code)", r"store::|main\.\(\*store\)\.(commit|writer)"),
    ("alerts engine", r"alerts::"),
    ("metrics and snapshots", r"metrics::"),
    ("memcpy, memset, string compare", r"memmove|memcpy|memset|memcmp|strlen|strcmp|__memchr|"
                                       r"runtime\.(memmove|memequal|cmpstring)|indexbyte|memeqbody|cmpbody"),
    ("clock reads", r"clock_gettime|vdso|time\.Now|runtime\.walltime"),
    ("hash tables", r"_Hashtable|unordered_|runtime\.map|aeshash|memhash|strhash"),
]
USER_RULES = [(name, re.compile(rx)) for name, rx in USER_RULES]

# Kernel samples: the syscall found in the chain decides.
SYSCALL_RE = re.compile(r"__(?:x64|se|do)_sys_(\w+)|\b__sys_(\w+)|\bksys_(\w+)|\bdo_(epoll_wait|epoll_ctl|"
                        r"futex|fsync)\b")
NET_CHAIN = re.compile(r"tcp_|sock_|inet_|skb|__sys_sendmsg|__sys_recvmsg|sock_read|sock_write")
FILE_CHAIN = re.compile(r"ext4|filemap|jbd2|folio|generic_perform_write|vfs_fsync|block_write|pagecache")


def kernel_category(chain):
    text = " ".join(chain)
    if "proc_reg_read" in text or "proc_readfd" in text or "proc_pid" in text:
        return "kernel: /proc reads (metrics sampler)"
    m = SYSCALL_RE.search(text)
    sc = next((g for g in m.groups() if g), "") if m else ""
    if sc.startswith("epoll"):
        return "kernel: epoll"
    if sc.startswith("futex"):
        return "kernel: futex (thread wake-ups)"
    if sc in ("accept4", "accept", "close", "shutdown", "setsockopt", "getsockopt", "getsockname"):
        return "kernel: accept, close, sockopts"
    if sc in ("sendmsg", "sendto", "recvmsg", "recvfrom", "writev", "readv", "read", "write"):
        if NET_CHAIN.search(text):
            return "kernel: TCP send/recv (loopback, both ends)"
        if FILE_CHAIN.search(text):
            return "kernel: file I/O (WAL, database)"
    if sc in ("pwrite64", "pread64", "fdatasync", "fsync", "ftruncate", "fcntl", "openat", "newfstatat",
              "lseek", "unlink", "read", "write", "fallocate"):
        return "kernel: file I/O (WAL, database)"
    if sc in ("mmap", "munmap", "mprotect", "madvise", "brk"):
        return "kernel: memory mapping"
    if sc in ("nanosleep", "clock_nanosleep", "sched_yield", "tgkill", "rt_sigreturn", "getpid"):
        return "kernel: sleeps, signals"
    if sc:
        if NET_CHAIN.search(text):
            return "kernel: TCP send/recv (loopback, both ends)"
        return "kernel: other syscalls (" + sc + ")"
    if "page_fault" in text:
        return "kernel: page faults"
    if NET_CHAIN.search(text):
        return "kernel: TCP send/recv (loopback, both ends)"
    return "kernel: interrupts, timers, scheduling"


def user_category(sym, dso):
    key = f"{sym} ({dso})"
    for name, rx in USER_RULES:
        if rx.search(key):
            return name
    return "other: " + (dso.rsplit("/", 1)[-1] if dso else "unknown")


def parse(stream):
    """Yields (tid, period, frames) where frames is a list of (symbol, dso), leaf first."""
    tid = None
    period = 0
    frames = []
    header = re.compile(r"^\s*(\d+)\s+(\d+)\s*$")
    frame = re.compile(r"^\s+[0-9a-f]+\s+(.*?)\s+\((.*)\)\s*$")
    for line in stream:
        m = header.match(line)
        if m:
            if tid is not None:
                yield tid, period, frames
            tid, period, frames = int(m.group(1)), int(m.group(2)), []
            continue
        m = frame.match(line)
        if m and tid is not None:
            frames.append((m.group(1), m.group(2)))
    if tid is not None:
        yield tid, period, frames


def categorize(frames):
    if not frames:
        return "unknown"
    sym, dso = frames[0]
    if dso == "inlined":
        # DWARF chains list inlined functions as frames of their own: the library is the next real frame's.
        dso = next((d for _, d in frames if d != "inlined"), "")
    if "kernel.kallsyms" in dso or sym.startswith("entry_SYSCALL"):
        kchain = [s for s, d in frames if "kernel.kallsyms" in d]
        return kernel_category(kchain)
    return user_category(re.sub(r"\+0x[0-9a-f]+$", "", sym), dso)


def table(title, counts, total_period, scale_s, requests, out):
    n = sum(counts.values())
    if n == 0:
        return
    cpu_s = scale_s * n / total_period
    out.write(f"\n{title}: {cpu_s:.2f} s CPU")
    if requests:
        out.write(f", {cpu_s * 1e6 / requests:.1f} us per request")
    out.write("\n")
    for name, c in counts.most_common():
        share = 100.0 * c / n
        if share < 0.5:
            continue
        line = f"  {share:5.1f} %  {name}"
        if requests:
            line = f"{line:<58} {scale_s * c / total_period * 1e6 / requests:7.2f} us/request"
        out.write(line + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=float, default=0, help="requests answered in the profiled window")
    ap.add_argument("--cpu-seconds", type=float, default=0, help="process CPU seconds over the same window")
    ap.add_argument("--min-thread-share", type=float, default=2.0, help="hide threads below this %% of samples")
    ap.add_argument("--top", type=int, default=12, help="also list the N hottest user-space leaf symbols")
    ap.add_argument("--under", action="append", default=[], metavar="REGEX",
                    help="also report the CPU of the samples with a frame matching REGEX anywhere in their chain "
                         "(needs full user chains: perf record --call-graph dwarf); repeatable")
    args = ap.parse_args()

    per_tid = defaultdict(Counter)
    overall = Counter()
    symbols = Counter()
    uncategorized = Counter()
    under = [(rx, re.compile(rx)) for rx in args.under]
    under_counts = defaultdict(Counter)  # regex -> category -> period
    total = 0
    for tid, period, frames in parse(sys.stdin):
        cat = categorize(frames)
        for text, rx in under:
            if any(rx.search(sym) for sym, _ in frames):
                under_counts[text][cat] += period
        per_tid[tid][cat] += period
        overall[cat] += period
        total += period
        if frames and "kernel.kallsyms" not in frames[0][1]:
            leaf_dso = next((d for _, d in frames if d != "inlined"), "")
            leaf = f"{frames[0][0][:90]} ({leaf_dso.rsplit('/', 1)[-1]})"
            symbols[leaf] += period
            if cat.startswith("other:"):
                uncategorized[leaf] += period
    if total == 0:
        sys.exit("perf_breakdown.py: no samples on stdin")
    scale_s = args.cpu_seconds if args.cpu_seconds > 0 else total / 1e9  # cpu-clock periods are nanoseconds
    out = sys.stdout
    sampled_s = total / 1e9
    out.write(f"samples: {sampled_s:.2f} s of CPU sampled")
    if args.cpu_seconds > 0:
        out.write(f", {args.cpu_seconds:.2f} s by /proc over the window (figures below are scaled to it)")
    out.write("\n")
    table("whole process", overall, total, scale_s, args.requests, out)
    for tid, counts in sorted(per_tid.items(), key=lambda kv: -sum(kv[1].values())):
        share = 100.0 * sum(counts.values()) / total
        if share < args.min_thread_share:
            continue
        top = counts.most_common(1)[0][0]
        table(f"thread {tid} ({share:.0f} % of the process; mostly {top})", counts, total, scale_s,
              args.requests, out)
    for text, _ in under:
        table(f"samples under /{text}/ ({100.0 * sum(under_counts[text].values()) / total:.1f} % of the process)",
              under_counts[text], total, scale_s, args.requests, out)
    if args.top:
        out.write(f"\nhottest user-space leaf symbols (% of the process)\n")
        for name, c in symbols.most_common(args.top):
            out.write(f"  {100.0 * c / total:5.1f} %  {name}\n")
        out.write(f"\nhottest leaves of the \"other\" categories (% of the process)\n")
        for name, c in uncategorized.most_common(args.top):
            out.write(f"  {100.0 * c / total:5.1f} %  {name}\n")


if __name__ == "__main__":
    main()
