#!/bin/sh
# bench_locks.sh BUILD — cost of the mutex and block profilers on the
# uncontended path, ratios from one run.
#
# bench/lock_loop.c runs uncontended mutex lock/unlock pairs, rwlock pairs
# and sem_post/sem_wait pairs (the wait finds a count: the try path) on one
# thread: glibc alone (the baseline), libcprof preloaded but no profile on,
# and CPROF_MUTEX + CPROF_BLOCK on (the goal: <= 1.15x), and also with the
# holders view (CPROF_MUTEX_HOLDERS, which interposes the unlock too).
# Best of several interleaved runs in thread CPU time.  Never fails on time.
set -u
BUILD=${1:-build}
LIB=$(cd "$BUILD" && pwd)/libcprof.so
LOOP=$BUILD/bench/lock_loop
M=${LOCKS_BENCH_MILLIONS:-5}
RUNS=${LOCKS_BENCH_RUNS:-7}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cprof-bench-locks.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
[ -x "$LOOP" ] || { echo "bench_locks: $LOOP not built"; exit 0; }

ns() { "$@" 2>/dev/null | sed -n 's/^ns_per_pair \([0-9.]*\).*/\1/p'; }
min() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == "" || a + 0 < b + 0) print a; else print b }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0 && a == a + 0) printf "%.2fx", a / b; else print "n/a" }'; }

for what in mutex rwlock sem; do
    base=""; interp=""; prof=""; hold=""
    i=0
    while [ $i -lt "$RUNS" ]; do
        base=$(min "$(ns nice "$LOOP" "$what" "$M")" "$base")
        interp=$(min "$(ns env LD_PRELOAD="$LIB" "$LOOP" "$what" "$M")" "$interp")
        prof=$(min "$(ns env LD_PRELOAD="$LIB" CPROF_MUTEX="$tmp/m.pb.gz" \
            CPROF_BLOCK="$tmp/b.pb.gz" "$LOOP" "$what" "$M")" "$prof")
        hold=$(min "$(ns env LD_PRELOAD="$LIB" CPROF_MUTEX="$tmp/m.pb.gz" \
            CPROF_BLOCK="$tmp/b.pb.gz" CPROF_MUTEX_HOLDERS="$tmp/h.pb.gz" \
            "$LOOP" "$what" "$M")" "$hold")
        i=$((i + 1))
    done
    echo "== locks: uncontended $what pairs, $M million, best of $RUNS interleaved runs =="
    printf '%-46s %8s ns/pair  %s\n' "glibc (baseline)" "$base" "1.00x"
    printf '%-46s %8s ns/pair  %s\n' "libcprof preloaded, no profile on" "$interp" "$(ratio "$interp" "$base")"
    printf '%-46s %8s ns/pair  %s  (goal <= 1.15x)\n' "CPROF_MUTEX + CPROF_BLOCK" "$prof" "$(ratio "$prof" "$base")"
    printf '%-46s %8s ns/pair  %s\n' "... + CPROF_MUTEX_HOLDERS (unlock hooked)" "$hold" "$(ratio "$hold" "$base")"
done

# The price of one recorded event (unwind + table add): a barrier of one
# never blocks, yet each call is a blocking call; at CPROF_BLOCK_RATE=1
# every one is recorded.  docs/locks.md derives the default rate from it.
base=""; all=""; dflt=""
i=0
while [ $i -lt "$RUNS" ]; do
    base=$(min "$(ns "$LOOP" barrier1 0.2)" "$base")
    all=$(min "$(ns env LD_PRELOAD="$LIB" CPROF_BLOCK="$tmp/b.pb.gz" CPROF_BLOCK_RATE=1 \
        "$LOOP" barrier1 0.2)" "$all")
    dflt=$(min "$(ns env LD_PRELOAD="$LIB" CPROF_BLOCK="$tmp/b.pb.gz" "$LOOP" barrier1 0.2)" "$dflt")
    i=$((i + 1))
done
echo "== locks: pthread_barrier_wait of one (never blocks), 0.2 million, best of $RUNS =="
printf '%-46s %8s ns/call  %s\n' "glibc (baseline)" "$base" "1.00x"
printf '%-46s %8s ns/call  %s\n' "CPROF_BLOCK, rate 1 (every call recorded)" "$all" "$(ratio "$all" "$base")"
printf '%-46s %8s ns/call  %s\n' "CPROF_BLOCK, default rate" "$dflt" "$(ratio "$dflt" "$base")"
awk -v a="$all" -v b="$base" 'BEGIN { if (a > b) printf "one recorded event costs ~%.0f ns\n", a - b }'
exit 0
