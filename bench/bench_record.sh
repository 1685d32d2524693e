#!/bin/sh
# bench_record.sh BUILD — `cprof record -- ninja -j2` on a clean build of
# this project: the process tree's CPU profiled against unprofiled (rusage
# of the tree, goal <= 1.15x), the whole of record (with its merge and
# symbolization) against unprofiled, and the merged profile's CPU against
# the tree's rusage (goal within 5%).  One run each, on a machine that may
# be busy: read the figures as indications.  Never fails on time.
set -u
build=${1:-build}
cprof=$(cd "$build" && pwd)/cprof
src=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export LC_ALL=C
command -v /usr/bin/time >/dev/null || { echo "bench_record: needs /usr/bin/time; skipped"; exit 0; }

for b in plain prof; do
  meson setup "$tmp/$b" "$src" >/dev/null 2>&1 || { echo "bench_record: meson setup failed"; exit 1; }
done
# unprofiled: the CPU of ninja's tree (user + system of waited-for children)
/usr/bin/time -o "$tmp/plain.time" -f '%U %S %e' ninja -C "$tmp/plain" -j2 >/dev/null 2>&1 ||
  { echo "bench_record: the unprofiled build failed"; exit 1; }
# profiled: record's own summary line gives the tree's rusage and the
# profile's CPU; time gives the whole, record's merge included
/usr/bin/time -o "$tmp/prof.time" -f '%U %S %e' "$cprof" record -o "$tmp/mk.pb.gz" -- \
  ninja -C "$tmp/prof" -j2 >/dev/null 2>"$tmp/rec.err" ||
  { echo "bench_record: the profiled build failed"; sed 's/^/  /' "$tmp/rec.err"; exit 1; }
line=$(grep '^cprof: mk.pb.gz: ' "$tmp/rec.err")
echo "$line"
grep -q "^cprof: the CPU profile's samples hold" "$tmp/rec.err" && sed -n "/^cprof: the CPU profile's samples hold/,/^cprof: likely/p" "$tmp/rec.err"
# CPU of processes the preload could not enter, which record adds under
# [not profiled: why] frames (0 when there are none)
unprof_s=$(sed -n 's/^cprof: it also holds \([0-9.]*\) s of CPU of .*/\1/p' "$tmp/rec.err")
unprof_s=${unprof_s:-0}
prof_s=$(echo "$line" | sed -n 's/.*: \([0-9.]*\) s CPU in .*/\1/p')
nproc=$(echo "$line" | sed -n 's/.* CPU in \([0-9]*\) process.*/\1/p')
tree_s=$(echo "$line" | sed -n 's/.*(the command used \([0-9.]*\) s).*/\1/p')
read pu ps pe <"$tmp/plain.time"
read wu ws we <"$tmp/prof.time"
awk -v pu="$pu" -v ps="$ps" -v pe="$pe" -v wu="$wu" -v ws="$ws" -v we="$we" \
    -v tree="$tree_s" -v prof="$prof_s" -v n="$nproc" -v unprof="$unprof_s" 'BEGIN {
  plain = pu + ps; whole = wu + ws
  printf "unprofiled build: %.2f s CPU (%.1f s wall)\n", plain, pe
  r = tree / plain; share = 100 * prof / tree; off = share - 100; if (off < 0) off = -off
  printf "profiled build:   %.2f s CPU in the tree: ratio %.3fx (goal <= 1.15x: %s)\n", tree, r, r <= 1.15 ? "met" : "NOT met"
  printf "whole record:     %.2f s CPU with the merge and symbolization (%.1f s wall): ratio %.3fx\n", whole, we, whole / plain
  printf "merged profile:   %.2f s CPU sampled in %d processes = %.1f%% of the tree'"'"'s rusage\n", prof, n, share
  all = prof + unprof; share = 100 * all / tree; off = share - 100; if (off < 0) off = -off
  printf "merged profile:   %.2f s CPU with the %.2f s of unprofiled processes = %.1f%% of the tree'"'"'s rusage (goal within 5%%: %s)\n", all, unprof, share, off <= 5 ? "met" : "NOT met"
  printf "merged profile against the unprofiled build'"'"'s CPU: %.1f%% (what the profiled processes add at start-up and exit is in neither)\n", 100 * prof / plain
}'
"$cprof" top -nodecount=0 "$tmp/mk.pb.gz" >/dev/null 2>&1 || echo "bench_record: the merged profile does not read back"
"$cprof" tags "$tmp/mk.pb.gz" 2>/dev/null | sed -n '/comm:/,/^$/p' | head -8
