#!/bin/sh
# bench_io.sh BUILD — the I/O profile's overhead, ratios from one run.
#
# bench/io_loop: a busy loop of small calls, in thread CPU time per call:
#  - write(2) to /dev/null and read(2) from /dev/zero of 64 bytes (the
#    cheapest system calls there are: the interposers' cost shows most);
#  - pwrite(2)/pread(2) of 4 KiB in a file held in the page cache.
# Configurations, interleaved, best of RUNS: no preload (the baseline),
# libcprof preloaded but not profiling I/O, CPROF_IO at the default rate,
# and CPROF_IO_RATE=1 (every call recorded: the exact mode's price).
# Never fails on time.
set -u
BUILD=${1:-build}
LIB=$(cd "$BUILD" && pwd)/libcprof.so
LOOP=$BUILD/bench/io_loop
N=${IO_BENCH_CALLS:-400000}
RUNS=${IO_BENCH_RUNS:-7}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cprof-bench-io.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
[ -x "$LOOP" ] || { echo "bench_io: $LOOP not built"; exit 0; }

ns() { "$@" 2>/dev/null | sed -n 's/^ns_per_call \([0-9.]*\).*/\1/p'; }
min() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == "" || a + 0 < b + 0) print a; else print b }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0 && a == a + 0) printf "%.2fx", a / b; else print "n/a" }'; }

for kind in null file; do
    size=64; [ $kind = file ] && size=4096
    base=""; interp=""; prof=""; exact=""
    i=0
    while [ $i -lt "$RUNS" ]; do
        base=$(min "$(ns "$LOOP" $kind "$N" $size "$tmp")" "$base")
        interp=$(min "$(ns env LD_PRELOAD="$LIB" "$LOOP" $kind "$N" $size "$tmp")" "$interp")
        prof=$(min "$(ns env LD_PRELOAD="$LIB" CPROF_IO="$tmp/io.pb.gz" "$LOOP" $kind "$N" $size "$tmp")" "$prof")
        exact=$(min "$(ns env LD_PRELOAD="$LIB" CPROF_IO="$tmp/io1.pb.gz" CPROF_IO_RATE=1 "$LOOP" $kind "$N" $size "$tmp")" "$exact")
        i=$((i + 1))
    done
    if [ $kind = null ]; then
        echo "== io: write /dev/null + read /dev/zero, 64 B, $N calls, best of $RUNS interleaved runs (thread CPU) =="
    else
        echo "== io: pwrite + pread 4 KiB, page-cached file, $N calls, best of $RUNS interleaved runs (thread CPU) =="
    fi
    printf '%-44s %8s ns/call  %s\n' "no profiler (baseline)" "$base" "1.00x"
    printf '%-44s %8s ns/call  %s\n' "libcprof preloaded, I/O profile off" "$interp" "$(ratio "$interp" "$base")"
    printf '%-44s %8s ns/call  %s\n' "CPROF_IO, default rate (1 MiB, 1 ms)" "$prof" "$(ratio "$prof" "$base")"
    printf '%-44s %8s ns/call  %s\n' "CPROF_IO_RATE=1 (every call recorded)" "$exact" "$(ratio "$exact" "$base")"
done
exit 0
