#!/bin/sh
# bench_threads.sh BUILD — what labels and the threads profiles cost.
#  1. The CPU handler's table add with a label key against without (the
#     only work labels add to a CPU sample), best of 5 interleaved.
#  2. One threads snapshot of 100 parked threads: time per thread.
#  3. pthread_create + join with the preload and CPROF_THREADS set (each
#     thread's creation stack is kept for the threadcreate profile) against
#     without the preload, best of 7 interleaved runs.
# Never fails on time.
set -u
BUILD=${1:-build}
LIB=$(cd "$BUILD" && pwd)/libcprof.so
B=$BUILD/bench/threads_bench
[ -x "$B" ] || { echo "bench_threads: $B not built"; exit 0; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cprof-bench-threads.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "== labels and threads profiles =="
"$B" key 200000
"$B" snapshot 100
min() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == "" || a + 0 < b + 0) print a; else print b }'; }
ns() { "$@" 2>/dev/null | sed -n 's/^ns_per_create \([0-9.]*\)/\1/p'; }
base="" pre=""
for i in 1 2 3 4 5 6 7; do
  base=$(min "$(ns "$B" create 2000)" "$base")
  pre=$(min "$(ns env LD_PRELOAD="$LIB" CPROF_THREADS="$tmp/t.pb.gz" "$B" create 2000)" "$pre")
done
awk -v a="$pre" -v b="$base" 'BEGIN { printf "pthread_create+join: %d ns plain, %d ns preloaded (creation stack kept), ratio %.2fx\n", b, a, a / b }'
