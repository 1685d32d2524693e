#!/bin/sh
# bench_http.sh BUILD — what serving /debug/pprof costs the program.
#
# bench/http_work (malloc/free pairs and arithmetic, one thread) runs under
# LD_PRELOAD=libcprof.so with CPROF_HTTP on loopback, alternately with the
# server idle and with a client hammering the index and heap endpoints
# (one curl process per second fetching each 10 times: 20 requests/s,
# bounded, keep-alive).  Figures are the program's own rounds per second
# of wall time; rounds are interleaved and the median ratio is printed
# (goal >= 0.95x), of wall-time throughput and of throughput per CPU-second
# of the program's thread (on a shared 2-core machine the wall figure
# mostly measures other processes, the curl client included).  Also printed: the idle server against no cprof at all
# (what CPROF_HTTP's default heap sampling costs this loop).  Never fails
# on time.
set -u
BUILD=${1:-build}
LIB=$(cd "$BUILD" && pwd)/libcprof.so
WORK=$BUILD/bench/http_work
SECS=${HTTP_BENCH_SECONDS:-2}
ROUNDS=${HTTP_BENCH_ROUNDS:-5}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cprof-bench-http.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
[ -x "$WORK" ] || { echo "bench_http: $WORK not built"; exit 0; }
command -v curl >/dev/null || { echo "bench_http: no curl"; exit 0; }

ops() { sed -n 's/^ops_per_s //p' "$1" | tr '\n' ' '; sed -n 's/^ops_per_cpu_s //p' "$1"; }

# run MODE: one run of the program; MODE plain | idle | hammer
run() {
  mode=$1
  rm -f "$tmp/addr"
  if [ "$mode" = plain ]; then
    nice "$WORK" "$SECS" >"$tmp/out"
    ops "$tmp/out"
    return
  fi
  CPROF_HTTP=127.0.0.1:0 CPROF_HTTP_ADDR_FILE="$tmp/addr" LD_PRELOAD="$LIB" \
    nice "$WORK" "$SECS" >"$tmp/out" &
  p=$!
  if [ "$mode" = hammer ]; then
    i=0
    while [ ! -s "$tmp/addr" ] && [ $i -lt 100 ]; do sleep 0.02; i=$((i + 1)); done
    U=http://$(cat "$tmp/addr")/debug/pprof
    (
      end=$(($(date +%s) + SECS + 1))
      while [ "$(date +%s)" -lt $end ] && kill -0 $p 2>/dev/null; do
        curl -s -o /dev/null -o /dev/null "$U/?[1-10]" "$U/heap?[1-10]" 2>/dev/null
        sleep 1
      done
    ) &
    h=$!
  fi
  wait $p
  [ "$mode" = hammer ] && { kill $h 2>/dev/null; wait $h 2>/dev/null; }
  ops "$tmp/out"
}

: >"$tmp/ratios"
: >"$tmp/cratios"
: >"$tmp/base"
r=1
while [ $r -le "$ROUNDS" ]; do
  pl=$(run plain)
  id=$(run idle)
  hm=$(run hammer)
  echo "round $r: rounds/s (wall, per CPU-s): plain $pl  server idle $id  server hammered $hm"
  set -- $pl $id $hm
  awk -v a="$5" -v b="$3" 'BEGIN { if (b > 0) printf "%.4f\n", a / b }' >>"$tmp/ratios"
  awk -v a="$6" -v b="$4" 'BEGIN { if (b > 0) printf "%.4f\n", a / b }' >>"$tmp/cratios"
  awk -v a="$3" -v b="$1" 'BEGIN { if (b > 0) printf "%.4f\n", a / b }' >>"$tmp/base"
  r=$((r + 1))
done
med() { sort -n "$1" | awk '{ v[NR] = $1 } END { if (NR) printf "%.2fx", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; else print "n/a" }'; }
echo "bench_http: throughput while a client hammers index+heap (20 req/s) vs server idle: $(med "$tmp/ratios") wall, $(med "$tmp/cratios") per CPU-second of the program (median of $ROUNDS; goal >= 0.95x)"
echo "bench_http: server idle (CPROF_HTTP, default heap sampling) vs no cprof: $(med "$tmp/base")"
exit 0
