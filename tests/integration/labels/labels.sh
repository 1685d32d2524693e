#!/bin/sh
# labels.sh PROG LIB CPROF — labels on CPU and heap samples.  Two threads
# run the same code under route=/a and route=/b; `cprof top -tagfocus`
# must split the CPU time as each thread measured it (within 3 points of
# the share) and the allocations exactly (CPROF_HEAP_RATE=1); a nested
# label, a thread created under a label and a forked child carry theirs;
# `cprof tags` lists them, go tool pprof -tagfocus agrees with cprof, and
# `cprof record` keeps them beside its pid and comm labels.
set -eu
prog=$1 lib=$2 cprof=$3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export HOME="${HOME:-$dir}"
out=$(CPROF_CPU="$dir/cpu.pb.gz" CPROF_HEAP="$dir/heap.%p.pb.gz" CPROF_HEAP_RATE=1 \
  LD_PRELOAD="$lib" "$prog" 600 300)
echo "$out"
val() { echo "$out" | sed -n "s/^$1=//p"; }
fail() { echo "FAIL: $*"; exit 1; }
heap="$dir/heap.$$.pb.gz"
for f in "$dir"/heap.*.pb.gz; do
  case $f in *".$(val child_pid).pb.gz") child=$f ;; *) heap=$f ;; esac
done
# "Showing nodes accounting for N<unit>, ..." with every node shown
shown() { # TOOL FILE FLAGS...
  tool=$1 file=$2; shift 2
  if [ "$tool" = go ]; then go tool pprof -top -nodefraction=0 "$@" "$file" 2>&1
  else "$cprof" top -nodefraction=0 "$@" "$file"; fi |
    sed -n 's/^Showing nodes accounting for \([0-9.]*\)[a-zA-Z]*,.*/\1/p'
}
for tool in cprof go; do
  # heap: exact at rate 1
  for r in a:route=/a b:route=/b inner:phase=inner; do
    k=${r%%:*} tag=${r#*:}
    got=$(shown $tool "$heap" -focus=route_alloc -sample_index=alloc_objects -tagfocus="$tag")
    [ "$got" = "$(val ${k}_objs)" ] || fail "$tool $tag alloc_objects $got, want $(val ${k}_objs)"
    got=$(shown $tool "$heap" -focus=route_alloc -sample_index=alloc_space -unit=B -tagfocus="$tag")
    [ "$got" = "$(val ${k}_bytes)" ] || fail "$tool $tag alloc_space $got, want $(val ${k}_bytes)"
  done
  got=$(shown $tool "$heap" -sample_index=alloc_objects -tagfocus=route=/fork)
  [ "${got:-0}" = 0 ] || fail "$tool: the parent has /fork allocations: $got"
  got=$(shown $tool "$child" -focus=route_alloc -sample_index=inuse_objects -tagfocus=route=/fork)
  [ "$got" = "$(val fork_objs)" ] || fail "$tool fork child: $got, want $(val fork_objs)"
  # CPU: each route's share of the two, within 3 points of the measured one
  pa=$(shown $tool "$dir/cpu.pb.gz" -unit=ns -tagfocus=route=/a)
  pb=$(shown $tool "$dir/cpu.pb.gz" -unit=ns -tagfocus=route=/b)
  awk -v pa="$pa" -v pb="$pb" -v ma="$(val a_cpu_ns)" -v mb="$(val b_cpu_ns)" -v t=$tool 'BEGIN {
    sp = 100 * pa / (pa + pb); sm = 100 * ma / (ma + mb); d = sp - sm
    printf "%s: route=/a %.2f%% of the labelled CPU in the profile, %.2f%% measured\n", t, sp, sm
    if (d < -3 || d > 3 || pa < 0.8 * ma || pb < 0.8 * mb) exit 1 }' || fail "$tool CPU split"
done
"$cprof" tags "$dir/cpu.pb.gz" >"$dir/tags.txt"
cat "$dir/tags.txt"
grep -q '^ route: Total' "$dir/tags.txt" && grep -q '): /a$' "$dir/tags.txt" &&
  grep -q '): /b$' "$dir/tags.txt" || fail "cprof tags"
"$cprof" tags "$heap" | grep -q '): inner$' || fail "cprof tags: no phase=inner"
# cprof record adds pid and comm beside the program's labels
abs() { case $1 in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
acprof=$(abs "$cprof") aprog=$(abs "$prog")
(cd "$dir" && "$acprof" record -o "$dir/rec.pb.gz" -- "$aprog" 200 100 \
  >/dev/null 2>&1) || fail "cprof record"
"$cprof" tags "$dir/rec.pb.gz" >"$dir/rtags.txt"
for k in comm pid route; do
  grep -q "^ $k: Total" "$dir/rtags.txt" || { cat "$dir/rtags.txt"; fail "record: no $k"; }
done
[ "$(shown cprof "$dir/rec.pb.gz" -unit=ns -tagfocus=route=/a)" -gt 0 ] || fail "record: /a"
echo ok
