#!/bin/sh
# bench_cpu.sh BUILD — the CPU profiler's costs and accuracy, as ratios
# against baselines measured in the same run:
#  1. one sample (signal + handler + 30-frame unwind) vs a bare signal;
#  2. overhead at 100 Hz on a CPU-bound program: CPU time profiled/unprofiled;
#  3. reported CPU vs rusage at 1000 Hz on 2 threads: cprof and, when
#     installed (tools/deps.sh --bench), gperftools' CPUPROFILE side by side.
# Never fails on time; prints what it measured.
set -u
build=${1:-build}
lib="$build/libcprof.so"
work="$build/bench/cpu_work"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export HOME="${HOME:-$tmp}"

field() { sed -n "s/.*$1=\([0-9]*\).*/\1/p"; }
# total of a profile in ms, from go tool pprof -top's "of X total" line
total_ms() {
  go tool pprof -top "$@" 2>/dev/null | sed -n 's/.* of \([0-9.]*\)\([a-z]*\) total.*/\1 \2/p' | head -1 |
    awk '{u=$2; v=$1; if (u=="s") v*=1000; else if (u=="us") v/=1000; else if (u=="ns") v/=1e6;
          else if (u=="min") v*=60000; print v}'
}

echo "-- 1. cost of one sample"
"$build/bench/cpu_sample" 20000

echo "-- 2. overhead at 100 Hz (1 thread, fixed work, 3 runs each, median CPU time)"
base="" prof=""
for i in 1 2 3; do
  base="$base $("$work" 1 600 | field cpu_ns)"
  prof="$prof $(CPROF_CPU="$tmp/o.pb.gz" CPROF_CPU_HZ=100 LD_PRELOAD="$lib" "$work" 1 600 | field cpu_ns)"
done
med() { echo "$@" | tr ' ' '\n' | sed '/^$/d' | sort -n | sed -n 2p; }
b=$(med $base) p=$(med $prof)
awk -v b="$b" -v p="$p" 'BEGIN { printf "unprofiled %.0f ms, profiled %.0f ms: ratio %.4f\n", b/1e6, p/1e6, p/b }'

echo "-- 3. reported CPU vs rusage at 1000 Hz, 2 busy threads"
out=$(CPROF_CPU="$tmp/c.pb.gz" CPROF_CPU_HZ=1000 LD_PRELOAD="$lib" "$work" 2 700)
ru=$(echo "$out" | field cpu_ns)
ours=$(total_ms "$tmp/c.pb.gz")
awk -v r="$ru" -v o="$ours" 'BEGIN { printf "cprof:      rusage %.0f ms, profile %.0f ms: %.1f%%\n", r/1e6, o, 100*o/(r/1e6) }'
gp=""
for f in /usr/lib/x86_64-linux-gnu/libprofiler.so.0 /usr/lib/libprofiler.so.0; do
  [ -f "$f" ] && gp=$f && break
done
if [ -n "$gp" ]; then
  out=$(CPUPROFILE="$tmp/g.prof" CPUPROFILE_FREQUENCY=1000 LD_PRELOAD="$gp" "$work" 2 700 2>/dev/null)
  ru=$(echo "$out" | field cpu_ns)
  theirs=$(total_ms "$work" "$tmp/g.prof")
  awk -v r="$ru" -v o="$theirs" 'BEGIN { printf "gperftools: rusage %.0f ms, profile %.0f ms: %.1f%%\n", r/1e6, o, 100*o/(r/1e6) }'
else
  echo "gperftools: not installed (sh tools/deps.sh --bench installs google-perftools)"
fi
