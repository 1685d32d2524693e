#!/bin/sh
# demo.sh BUILD [OUT] — profile the bundled example with `cprof record`:
# its CPU by function and by route label, its contended lock, and a flame
# graph.  OUT defaults to BUILD/demo.
set -eu
build=${1:-build}
cprof="$build/cprof"
demo="$build/examples/demo"
out=${2:-$build/demo}
mkdir -p "$out"
[ -x "$cprof" ] && [ -x "$demo" ] || { echo "demo: build first (make)"; exit 1; }

# One run, two profiles.  record prints where they are and the CPU top (on
# stderr).  The demo's two workers serve two routes, each under a label,
# and share one statistics lock.
echo "== cprof record --hz 250 -o $out/cpu.pb.gz --mutex=$out/mutex.pb.gz -- $demo 1"
"$cprof" record --hz 250 -o "$out/cpu.pb.gz" --mutex="$out/mutex.pb.gz" -- "$demo" 1 2>&1
echo
echo "== cprof tags -tagshow=route $out/cpu.pb.gz   (CPU time by label)"
"$cprof" tags -tagshow=route "$out/cpu.pb.gz" 2>&1
echo
echo "== cprof top -tagfocus=route=/checkout -nodecount=6 $out/cpu.pb.gz"
"$cprof" top -tagfocus=route=/checkout -nodecount=6 "$out/cpu.pb.gz" 2>&1
echo
echo "== cprof top -nodecount=6 $out/mutex.pb.gz   (who waited for the contended stats lock)"
"$cprof" top -nodecount=6 "$out/mutex.pb.gz" 2>&1
echo
"$cprof" flame -o "$out/flame.html" "$out/cpu.pb.gz"
echo "flame graph (open it in a browser): $out/flame.html"
