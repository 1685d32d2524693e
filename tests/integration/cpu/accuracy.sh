#!/bin/sh
# accuracy.sh BUSY CPUCHECK LIBCPROF THREADS HZ MS_PER_THREAD
# Profile busy.c under LD_PRELOAD and hold the profile to the truth it
# printed: total CPU within 5% of rusage, each function's share within 3
# points of its measured CPU time, >= 99% of samples reaching worker/main,
# and go tool pprof reads it and names the functions.
set -eu
busy=$1 check=$2 lib=$3 threads=$4 hz=$5 ms=$6
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
out=$(CPROF_CPU="$dir/cpu.pb.gz" CPROF_CPU_HZ="$hz" LD_PRELOAD="$lib" "$busy" "$threads" "$ms")
echo "busy: $out"
rusage_ns= work_a_ns= work_b_ns= work_c_ns=
eval "$out"
echo "threads=$threads hz=$hz:"
"$check" "$dir/cpu.pb.gz" --total-ns "$rusage_ns" --total-tol 0.05 \
  --share work_a="$work_a_ns" --share work_b="$work_b_ns" --share work_c="$work_c_ns" \
  --share-tol 3 --complete worker,main --min-complete 0.99
export HOME="${HOME:-$dir}"
go tool pprof -top "$dir/cpu.pb.gz" >"$dir/top.txt" 2>&1 || { cat "$dir/top.txt"; exit 1; }
for f in work_a work_b work_c worker; do
  grep -q " $f\$" "$dir/top.txt" || { echo "go tool pprof -top lacks $f:"; cat "$dir/top.txt"; exit 1; }
done
# -list needs file:line in the profile and the source on this machine; the
# profiled process writes names only, `cprof symbolize` adds the lines.
"$(dirname "$lib")/cprof" symbolize -q "$dir/cpu.pb.gz"
go tool pprof -list '^work_a$' "$dir/cpu.pb.gz" >"$dir/list.txt" 2>&1 || { cat "$dir/list.txt"; exit 1; }
grep -q "busy.c" "$dir/list.txt" || { echo "go tool pprof -list shows no source:"; cat "$dir/list.txt"; exit 1; }
echo "go tool pprof -top and -list: ok"
