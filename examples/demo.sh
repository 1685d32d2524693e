#!/bin/sh
# demo.sh BUILD — profile the bundled example with `cprof record`, show the
# top functions and, when this cprof has a flame graph command, write one.
set -eu
build=${1:-build}
cprof="$build/cprof"
demo="$build/examples/demo"
out="$build/demo"
mkdir -p "$out"
[ -x "$cprof" ] && [ -x "$demo" ] || { echo "demo: build first (make)"; exit 1; }

# record prints where the profile is and its top functions (on stderr).
# The demo's two workers serve two routes, each under a label.
echo "== cprof record --hz 250 -o $out/cpu.pb.gz -- $demo 1"
"$cprof" record --hz 250 -o "$out/cpu.pb.gz" -- "$demo" 1 2>&1
echo
echo "== cprof tags -tagshow=route $out/cpu.pb.gz   (CPU time by label)"
"$cprof" tags -tagshow=route "$out/cpu.pb.gz" 2>&1
echo
echo "== cprof top -tagfocus=route=/checkout -nodecount=6 $out/cpu.pb.gz"
"$cprof" top -tagfocus=route=/checkout -nodecount=6 "$out/cpu.pb.gz" 2>&1
# the contended lock shows in the mutex profile where this cprof has one
if "$cprof" record --mutex="$out/mutex.pb.gz" -- "$demo" 0.3 >/dev/null 2>&1; then
  echo
  echo "== cprof top $out/mutex.pb.gz   (the contended stats lock)"
  "$cprof" top -nodecount=6 "$out/mutex.pb.gz" 2>&1
fi

help=$("$cprof" help 2>&1 || true)
if echo "$help" | grep -qE '^ *svg '; then
  "$cprof" svg -o "$out/flame.svg" "$out/cpu.pb.gz" && echo "flame graph: $out/flame.svg"
elif echo "$help" | grep -qE '^ *flame '; then
  "$cprof" flame -o "$out/flame.html" "$out/cpu.pb.gz" && echo "flame graph: $out/flame.html"
elif echo "$help" | grep -qE '^ *folded '; then
  "$cprof" folded "$out/cpu.pb.gz" >"$out/cpu.folded" &&
    echo "folded stacks (for a flame graph tool): $out/cpu.folded"
fi
