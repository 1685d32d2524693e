#!/bin/sh
# gxx.sh CPROF CHECK LIBCPROF PROG HEAVY_CC — `cprof record -- g++ -O2 -c`
# keeps the compiler proper: cc1plus's samples are in the merged profile
# under comm=cc1plus, and the profile's CPU is within 5% of what g++'s
# process tree used by rusage (measured by CHECK around g++, under record).
#
# How 5% was chosen: the profile misses, per process, the start-up before
# the timer is armed (~1 ms) and the tail after the last tick (< 10 ms at
# 100 Hz); g++ -c runs three processes (driver, cc1plus, as), so at most
# ~35 ms of ~1 s, 3.5%.  While the preload still adds file:line to its
# profile at exit (it reads DWARF in the process: ~80 ms per process with
# libc6-dbg, which rusage counts and no sample can), that work is outside
# the profile by design: 13% measured here, and the bound is 20%; the test
# says which bound applies.
set -u
abs() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }
cprof=$(abs "$1") check=$(abs "$2") lib=$(abs "$3") prog=$(abs "$4") src=$(abs "$5")
command -v g++ >/dev/null || { echo "no g++: skipped"; exit 77; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir"
fail() { echo "FAIL: $*"; [ -f err.txt ] && sed 's/^/  stderr: /' err.txt; exit 1; }

"$cprof" record -o g.pb.gz -- "$check" rusage ru.txt g++ -O2 -c "$src" -o heavy.o >out.txt 2>err.txt ||
  fail "record g++ exited $?"
[ -s heavy.o ] || fail "g++ wrote no object file"
[ -s out.txt ] && fail "stdout not empty: $(cat out.txt)"
read used <ru.txt || fail "no rusage"
"$check" labels g.pb.gz >labels.txt || fail "cannot read the profile"
cat labels.txt
grep -q " cc1plus [1-9]" labels.txt || fail "no samples labelled comm=cc1plus"
read -r _ total_s total_ns <<EOF2
$(grep '^total' labels.txt)
EOF2
cc1=0
while read -r pid comm s ns; do
  [ "$comm" = cc1plus ] && cc1=$(( cc1 + ns ))
done <labels.txt
[ $(( cc1 * 2 )) -gt "$total_ns" ] || fail "cc1plus holds $cc1 of $total_ns ns, not most of it"

# Which bound applies: does the in-process writer still add line numbers?
CPROF_CPU=probe.pb.gz LD_PRELOAD="$lib" "$prog" 0.05 probe.txt >/dev/null
if "$cprof" raw probe.pb.gz | grep "/prog_a " | grep -q '\[LN\]'; then
  pct=20 why="the preload still reads DWARF at exit"
else
  pct=5 why="names only at exit"
fi
d=$(( used - total_ns )); [ $d -lt 0 ] && d=$(( -d ))
echo "profile $total_ns ns, g++'s tree used $used ns by rusage: off by $(( d * 1000 / used ))/1000 (bound $pct%: $why)"
[ $(( d * 100 )) -le $(( used * pct )) ] || fail "profile off by more than $pct% of the tree's CPU"
grep -Eq "^cprof: g\.pb\.gz: [0-9.]+ s CPU in [0-9]+ processes \(the command used [0-9.]+ s\)$" err.txt ||
  fail "no summary line"
echo "gxx: ok"
