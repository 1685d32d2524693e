#!/bin/sh
# demo.sh BUILD SRC — `make demo`'s script works and shows what it says:
# the two routes' labels, the contended lock in the mutex profile, a flame
# graph file.
set -eu
build=$1 src=$2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
sh "$src/examples/demo.sh" "$build" "$out" >"$out/log" 2>&1 || { cat "$out/log"; echo "FAIL: demo.sh"; exit 1; }
cat "$out/log"
fail() { echo "FAIL: $*"; exit 1; }
grep -q '/search' "$out/log" && grep -q '/checkout' "$out/log" || fail "the route labels are missing"
sed -n '/mutex.pb.gz   (who waited/,$p' "$out/log" | grep -q 'update_stats' || fail "the mutex profile does not name update_stats"
[ -s "$out/flame.html" ] || fail "no flame graph"
grep -q "flame graph (open it in a browser): $out/flame.html" "$out/log" || fail "the flame graph's path is not printed"
echo "demo: ok"
