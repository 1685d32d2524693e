#!/bin/sh
# sigfork.sh PROG LIB CPROF MODE — signals and fork under every profiler
# (collect/sigfork.c owns both; docs/signal-safety.md).
#  storm:    fork storm from 4 threads with allocations, a contended mutex
#            and pipe writes in flight, CPU+heap+mutex+I/O profiling all
#            on, every file named with %p: no deadlock (a timeout), every
#            child exits with its own status, the parent's profiles and
#            the children's open in go tool pprof -raw.
#  handlers: SIGALRM and SIGPROF handlers that install handlers (sigaction
#            and signal, SIGSEGV/SIGBUS too) from inside a handler, under
#            heavy signals, while the CPU profiler samples on SIGPROF: no
#            deadlock, the handlers keep running, sigaction reports what
#            the program installed, stdout identical to the plain run.
#  forksig:  fork inside a signal handler while a worker allocates: the
#            child exits 7 and its profiles open.
set -eu
abs() { case $1 in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
prog=$(abs "$1") lib=$(abs "$2") cprof=$(abs "$3") mode=$4
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export HOME="${HOME:-$dir}" LC_ALL=C
fail() { echo "FAIL: $*"; exit 1; }
opens() { # FILE: go tool pprof reads it
  go tool pprof -raw "$1" >"$dir/raw.txt" 2>&1 || { cat "$dir/raw.txt"; fail "go tool pprof -raw $1"; }
}
profiled() {
  timeout 120 env CPROF_CPU="$dir/cpu.%p.pb.gz" CPROF_CPU_HZ=1000 CPROF_HEAP="$dir/heap.%p.pb.gz" \
    CPROF_HEAP_RATE=4096 CPROF_MUTEX="$dir/mutex.%p.pb.gz" CPROF_IO="$dir/io.%p.pb.gz" \
    CPROF_IO_RATE=1 LD_PRELOAD="$lib" "$@"
}

case $mode in
storm)
  rc=0
  profiled "$prog" storm 4 8 >"$dir/out" 2>"$dir/err" || rc=$?
  cat "$dir/out"
  [ "$rc" -ne 124 ] || fail "storm: timed out (deadlock)"
  [ "$rc" -eq 0 ] || { cat "$dir/err"; fail "storm: exit status $rc"; }
  [ "$(grep -c 'statuses ok$' "$dir/out")" -eq 4 ] || fail "storm: a child exited with another status"
  [ ! -s "$dir/err" ] || { cat "$dir/err"; fail "storm: stderr not empty"; }
  pid=$(sed -n 's/^storm pid //p' "$dir/out")
  for t in cpu heap mutex io; do
    [ -s "$dir/$t.$pid.pb.gz" ] || fail "storm: no $t profile of the parent"
    opens "$dir/$t.$pid.pb.gz"
  done
  # each child sampled CPU, allocations and writes of its own
  for t in cpu heap io; do
    n=$(ls "$dir" | grep -c "^$t\.[0-9]*\.pb\.gz$" || true)
    [ "$n" -gt 1 ] || fail "storm: no child wrote a $t profile"
  done
  # every file is whole (cprof reads each; go tool pprof a few children's)
  for f in "$dir"/*.pb.gz; do
    "$cprof" top "$f" >/dev/null 2>"$dir/top.err" || { cat "$dir/top.err"; fail "cprof top $f"; }
  done
  for t in cpu heap; do
    for f in $(ls "$dir"/$t.*.pb.gz | grep -v "\.$pid\.pb\.gz$" | sed -n 1,2p); do opens "$f"; done
  done
  "$cprof" top -nodecount=200 "$dir/cpu.$pid.pb.gz" >"$dir/t.txt"
  grep -q storm_worker "$dir/t.txt" || fail "storm: the parent's CPU profile lacks storm_worker"
  echo "storm: ok ($(ls "$dir" | grep -c '\.pb\.gz$') profiles)"
  ;;
handlers)
  rc=0
  timeout 60 "$prog" handlers 1500 >"$dir/plain" 2>"$dir/plain.err" || rc=$?
  cat "$dir/plain" "$dir/plain.err"
  [ "$rc" -eq 0 ] || fail "handlers, plain: exit status $rc"
  grep -q "alarm handlers: running" "$dir/plain" && grep -q "prof handlers: running" "$dir/plain" &&
    grep -q "dispositions: as installed" "$dir/plain" || fail "handlers: the plain run itself is wrong"
  profiled "$prog" handlers 1500 >"$dir/prof" 2>"$dir/prof.err" || rc=$?
  cat "$dir/prof.err"
  [ "$rc" -ne 124 ] || fail "handlers: timed out under cprof (deadlock)"
  [ "$rc" -eq 0 ] || fail "handlers: exit status $rc under cprof"
  cmp "$dir/plain" "$dir/prof" || { diff "$dir/plain" "$dir/prof" || true; fail "handlers: output differs under cprof"; }
  f=$(ls "$dir"/cpu.*.pb.gz)
  opens "$f"
  "$cprof" top -nodecount=200 "$f" >"$dir/t.txt"
  grep -q round_work "$dir/t.txt" || fail "handlers: round_work not sampled"
  opens "$(ls "$dir"/heap.*.pb.gz)"
  echo "handlers: ok"
  ;;
forksig)
  rc=0
  profiled "$prog" forksig >"$dir/out" 2>"$dir/err" || rc=$?
  cat "$dir/out" "$dir/err"
  [ "$rc" -ne 124 ] || fail "forksig: timed out (deadlock)"
  [ "$rc" -eq 0 ] || fail "forksig: exit status $rc"
  # the child's allocations (1.3 MB at a mean of 4096 bytes) are sampled
  [ "$(ls "$dir"/heap.*.pb.gz | wc -l)" -eq 2 ] || fail "forksig: want the parent's and the child's heap profiles"
  for f in "$dir"/*.pb.gz; do opens "$f"; done
  echo "forksig: ok"
  ;;
*) echo "unknown mode $mode"; exit 2 ;;
esac
