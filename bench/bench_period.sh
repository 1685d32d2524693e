#!/bin/sh
# bench_period.sh BUILD — what CPROF_PERIOD costs and how well its files
# add up, ratios from one run.
#
# tests/integration/continuous/periodic spins 1 s of CPU on its main thread
# and prints its thread and process CPU clocks.  Baseline: CPROF_CPU alone
# (one write at exit).  Then CPROF_CPU + CPROF_HEAP with CPROF_PERIOD at 1,
# 0.1 and 0.01 s.  Printed per setting (best of RUNS interleaved runs):
#   writer  = (process CPU - main thread CPU) / main thread CPU: the
#             writer thread's (and exit's) CPU against the program's;
#   sum     = the CPU files' cpu total / main thread CPU (the partition).
# Goal: writer <= 1% at 1 s periods.  Never fails on time.
set -u
BUILD=${1:-build}
LIB=$(cd "$BUILD" && pwd)/libcprof.so
PROG=$BUILD/tests/integration/continuous/periodic
PSUM=$BUILD/tests/integration/continuous/psum
RUNS=${PERIOD_BENCH_RUNS:-3}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cprof-bench-period.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
[ -x "$PROG" ] && [ -x "$PSUM" ] || { echo "bench_period: $PROG not built"; exit 0; }

# one run: prints "WRITER_SHARE SUM_RATIO FILES"
one() {
    period=$1
    rm -f "$tmp"/*.pb.gz
    if [ "$period" = none ]; then
        out=$(CPROF_CPU="$tmp/cpu.%n.pb.gz" LD_PRELOAD="$LIB" "$PROG" spin 1)
    else
        out=$(CPROF_CPU="$tmp/cpu.%n.pb.gz" CPROF_HEAP="$tmp/heap.%n.pb.gz" \
              CPROF_PERIOD="$period" LD_PRELOAD="$LIB" "$PROG" spin 1)
    fi
    th=$(echo "$out" | sed -n 's/.*thread_ns=\([0-9]*\).*/\1/p')
    pr=$(echo "$out" | sed -n 's/.*proc_ns=\([0-9]*\).*/\1/p')
    sum=$("$PSUM" cpu "$tmp"/cpu.*.pb.gz 2>/dev/null)
    n=$(ls "$tmp"/cpu.*.pb.gz | wc -l)
    awk -v t="$th" -v p="$pr" -v s="$sum" -v n="$n" 'BEGIN { printf "%.5f %.4f %d\n", (p - t) / t, s / t, n }'
}

for p in none 1 0.1 0.01; do eval "best_$(echo $p | tr . _)=''"; done
i=0
while [ $i -lt "$RUNS" ]; do
    for p in none 1 0.1 0.01; do
        v=$(one $p)
        k=best_$(echo $p | tr . _)
        cur=$(eval echo "\$$k")
        if [ -z "$cur" ] || [ "$(echo "$v $cur" | awk '{ print ($1 < $4) }')" = 1 ]; then
            eval "$k='$v'"
        fi
    done
    i=$((i + 1))
done
for p in none 1 0.1 0.01; do
    k=best_$(echo $p | tr . _)
    set -- $(eval echo "\$$k")
    label=$([ $p = none ] && echo "CPROF_CPU only (baseline)" || echo "CPROF_PERIOD=$p (cpu+heap)")
    echo "$label: files=$3 writer=$(awk -v w="$1" 'BEGIN { printf "%.2f%%", w * 100 }') of the program's CPU, sum of periods / program CPU = $2"
done
set -- $best_1
awk -v w="$1" 'BEGIN { if (w <= 0.01) print "goal writer <= 1% at 1 s periods: met"; else print "goal writer <= 1% at 1 s periods: NOT met" }'
