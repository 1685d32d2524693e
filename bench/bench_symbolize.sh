#!/bin/sh
# bench_symbolize.sh BUILD — symbolization speed, addresses per second.
#
# Runs BUILD/tests/unit/symbolize/symbolize_speed (source:
# bench/symbolize_speed.c): 20,000 addresses spread over libc's code and
# over the benchmark's own (DWARF) code (libc twice: with its debug file
# when installed, and with the symbol table only), symbolized by cp_symbolize, against
# bare libdwfl symbol lookups (dwfl_module_addrname) on the same addresses
# in the same run as the baseline.  Goal: at least 10,000 addresses/s on
# libc.  Never fails on time.
set -u
BUILD=${1:-build}
EXE=$BUILD/tests/unit/symbolize/symbolize_speed
[ -x "$EXE" ] || { echo "bench_symbolize: $EXE not built"; exit 0; }
out=$(DEBUGINFOD_URLS= "$EXE" "${SYMBOLIZE_BENCH_ADDRS:-20000}") || { echo "bench_symbolize: failed"; exit 0; }
echo "$out"
echo "$out" | awk '
  /^[a-z]/ { inlibc = ($1 == "libc"); next }
  inlibc && /cp_symbolize/ { for (i = 1; i <= NF; i++) if ($i == "addrs/s") rate = $(i - 1) }
  END {
    if (rate == "") { print "libc rate: n/a"; exit }
    printf "goal: >= 10000 addrs/s on libc: %s (%s addrs/s)\n", (rate >= 10000 ? "met" : "NOT met"), rate
  }'
exit 0
