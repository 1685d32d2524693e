#!/bin/sh
# faults.sh LIBCPROF — SIGSEGV and SIGBUS sent to a profiled process (kill,
# raise) keep their default action: the process dies of them, as it does
# without cprof.  The unwinder's fault guard (unwind.c) sits on both signals.
set -u
lib=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
for pair in SEGV:11 BUS:7; do
  sig=${pair%:*} want=$((128 + ${pair#*:}))
  for var in CPROF_CPU CPROF_HEAP; do
    env "$var=$dir/p.pb.gz" LD_PRELOAD="$lib" sh -c "kill -$sig \$\$; echo survived" \
      >"$dir/out" 2>/dev/null
    rc=$?
    [ $rc = $want ] || fail "$var: kill -$sig: status $rc ($(cat "$dir/out")), want $want"
  done
done
echo "faults: ok"
