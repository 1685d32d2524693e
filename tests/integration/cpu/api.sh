#!/bin/sh
# api.sh API CPUCHECK — the C API in a program linked with -lcprof: threads
# created after cprof_cpu_start are profiled without LD_PRELOAD, and the
# profile holds the CPU time between start and stop (within 5%).
set -eu
api=$1 check=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
out=$("$api" "$dir/cpu.pb.gz")
echo "$out"
"$check" "$dir/cpu.pb.gz" --total-ns "${out#rusage_ns=}" --total-tol 0.05 \
  --complete api_worker --min-complete 0.99 --has api_worker
export HOME="${HOME:-$dir}"
go tool pprof -top "$dir/cpu.pb.gz" >"$dir/top.txt" 2>&1 || { cat "$dir/top.txt"; exit 1; }
grep -q " api_worker\$" "$dir/top.txt" || { cat "$dir/top.txt"; exit 1; }
