#!/bin/sh
# bench_top.sh BUILD — `cprof top` against `go tool pprof -top` on a large
# synthetic profile (bench/gen_profile: 150k distinct stacks, 40 frames deep
# on average, ~1M samples, ~12 MB gzipped), measured in the same run.
# Prints wall time and peak RSS of both, the ratio, whether the outputs are
# identical, and the decoder alone (bench_decode, against zlib's gunzip).
# Goals (issue 2): cprof at most 1/20 of go tool pprof's time, at most
# 300 MiB.  Never fails on time: a missed goal is printed, not returned.
set -u
build=${1:-build}
gen="$build/bench/gen_profile"
dec="$build/bench/bench_decode"
cprof="$build/cprof"
prof="$build/bench/big.pb.gz"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ ! -x "$gen" ]; then
  echo "bench_top: $gen not built; run make first"; exit 0
fi
if [ ! -s "$prof" ] || [ "$gen" -nt "$prof" ]; then
  "$gen" "$prof" 2>"$tmp/gen.err" || { cat "$tmp/gen.err"; exit 0; }
fi
size=$(wc -c <"$prof")
[ -s "$tmp/gen.err" ] && echo "bench_top: generated $(sed 's/^gen_profile: //' "$tmp/gen.err")"
echo "bench_top: profile $prof, $(awk -v s="$size" 'BEGIN{printf "%.1f MB", s/1e6}')"

# run NAME CMD... : wall seconds and peak KiB into $tmp/NAME.time, stdout into $tmp/NAME.out
run() {
  name=$1; shift
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -f "%e %M" -o "$tmp/$name.time" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
    st=$?
  else
    t0=$(date +%s.%N)
    "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
    st=$?
    t1=$(date +%s.%N)
    echo "$t0 $t1" | awk '{printf "%.2f 0\n", $2-$1}' >"$tmp/$name.time"
  fi
  return $st
}

human_kib() {
  awk -v k="$1" 'BEGIN{ if (k == 0) print "? MiB"; else if (k >= 1048576) printf "%.1f GiB", k/1048576; else printf "%.0f MiB", k/1024 }'
}

if [ ! -x "$cprof" ]; then
  echo "top: $cprof not built"; exit 0
fi
if ! run cprof "$cprof" top "$prof"; then
  echo "top: cprof top failed (the command may not exist yet):"; head -5 "$tmp/cprof.err"; exit 0
fi
read -r c_s c_k <"$tmp/cprof.time"

if ! command -v go >/dev/null 2>&1; then
  echo "top: cprof $c_s s $(human_kib "$c_k") | go tool pprof not installed"; exit 0
fi
export HOME="${HOME:-$tmp}"
run go go tool pprof -top "$prof" || { echo "top: go tool pprof failed"; head -5 "$tmp/go.err"; }
read -r g_s g_k <"$tmp/go.time"

ratio=$(awk -v g="$g_s" -v c="$c_s" 'BEGIN{ if (c > 0) printf "%.1f", g/c; else print "inf" }')
echo "top: cprof $c_s s $(human_kib "$c_k") | go tool pprof $g_s s $(human_kib "$g_k") | ratio ${ratio}x"
if cmp -s "$tmp/cprof.out" "$tmp/go.out"; then
  echo "top: outputs identical ($(wc -l <"$tmp/go.out") lines)"
else
  echo "top: outputs differ; first differences:"
  diff "$tmp/go.out" "$tmp/cprof.out" | head -8
fi
awk -v r="$ratio" -v k="$c_k" 'BEGIN{
  t = (r == "inf" || r + 0 >= 20) ? "met" : "NOT met";
  m = (k > 0 && k <= 300 * 1024) ? "met" : (k == 0 ? "unknown" : "NOT met");
  printf "top: goals: time <= 1/20 of go tool pprof: %s; peak <= 300 MiB: %s\n", t, m }'

if [ -x "$dec" ]; then
  "$dec" "$prof"
fi
exit 0
