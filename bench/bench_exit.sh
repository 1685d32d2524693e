#!/bin/sh
# bench_exit.sh BUILD — what profiling costs a short process, mostly its exit.
#
# For /usr/bin/python3 -c pass, a small C program (bench/cpu_work with no
# work), and busy variants of both (python: string and dict work that
# keeps libc busy; C: 30 M iterations), run plain, under CPROF_CPU
# (1000 Hz, so libc gets samples) and under CPROF_HEAP (default rate):
# CPU time (user+sys) and peak RSS of the process, each the best of N
# interleaved runs, printed with the delta over plain.  The profiled
# process names its addresses from ELF symbol tables at exit (no DWARF):
# the target is at most +15 ms CPU and +8 MiB peak RSS for python3 -c pass.
# Never fails on time.
set -u
BUILD=${1:-build}
LIB=$(cd "$BUILD" && pwd)/libcprof.so
WORK=$BUILD/bench/cpu_work
RUNS=${EXIT_BENCH_RUNS:-7}
PY=/usr/bin/python3
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cprof-bench-exit.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
[ -f "$LIB" ] || { echo "bench_exit: $LIB not built"; exit 0; }
[ -x "$PY" ] || { echo "bench_exit: $PY missing"; exit 0; }

# measure CMD...: "CPU_US MAXRSS_KB" of CMD from wait4, by a tiny C
# helper: a fork child keeps its parent's peak RSS across exec, so the
# parent must be small (python's 10 MiB would hide the figure), and GNU
# time prints CPU in 10 ms steps.
cat >"$tmp/rus.c" <<'EOC'
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>
int main(int argc, char **argv)
{
    (void)argc;
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        execvp(argv[1], argv + 1);
        _exit(127);
    }
    int st;
    struct rusage ru;
    if (pid < 0 || wait4(pid, &st, 0, &ru) < 0)
        return 1;
    printf("%ld %ld\n", (long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000L +
           ru.ru_utime.tv_usec + ru.ru_stime.tv_usec, ru.ru_maxrss);
    return 0;
}
EOC
cc -O2 -o "$tmp/rus" "$tmp/rus.c" || { echo "bench_exit: no C compiler"; exit 0; }
measure() { "$tmp/rus" "$@"; }
min() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == "" || a + 0 < b + 0) print a; else print b }'; }

# bench NAME CMD...: plain, CPROF_CPU, CPROF_HEAP, interleaved.
bench() {
    name=$1
    shift
    pc=""; pr=""; cc=""; cr=""; hc=""; hr=""
    i=0
    while [ $i -lt "$RUNS" ]; do
        set -- "$@"
        m=$(measure "$@"); pc=$(min "${m% *}" "$pc"); pr=$(min "${m#* }" "$pr")
        m=$(measure env LD_PRELOAD="$LIB" CPROF_CPU="$tmp/c.pb.gz" CPROF_CPU_HZ=1000 "$@")
        cc=$(min "${m% *}" "$cc"); cr=$(min "${m#* }" "$cr")
        m=$(measure env LD_PRELOAD="$LIB" CPROF_HEAP="$tmp/h.pb.gz" "$@")
        hc=$(min "${m% *}" "$hc"); hr=$(min "${m#* }" "$hr")
        i=$((i + 1))
    done
    awk -v n="$name" -v pc="$pc" -v pr="$pr" -v cc="$cc" -v cr="$cr" -v hc="$hc" -v hr="$hr" 'BEGIN {
        printf "%-26s plain  %7.1f ms CPU %6.1f MiB peak RSS\n", n, pc / 1000, pr / 1024
        printf "%-26s CPU    %7.1f ms (%+6.1f ms, %.2fx) %6.1f MiB (%+5.1f MiB)\n", "", cc / 1000,
               (cc - pc) / 1000, cc / pc, cr / 1024, (cr - pr) / 1024
        printf "%-26s HEAP   %7.1f ms (%+6.1f ms, %.2fx) %6.1f MiB (%+5.1f MiB)\n", "", hc / 1000,
               (hc - pc) / 1000, hc / pc, hr / 1024, (hr - pr) / 1024
    }'
    # The profile must have been written (and named) for the figure to mean anything.
    [ -s "$tmp/c.pb.gz" ] && [ -s "$tmp/h.pb.gz" ] || echo "  (warning: a profile was not written)"
    rm -f "$tmp/c.pb.gz" "$tmp/h.pb.gz"
}

echo "== exit cost of a short process, best of $RUNS interleaved runs (target for python3 -c pass: <= +15 ms CPU, <= +8 MiB) =="
bench "python3 -c pass" "$PY" -c pass
bench "python3 busy (~100 ms)" "$PY" -c 'd = {}
for i in range(150000): d[str(i) * 3] = repr(i).encode().hex()'
if [ -x "$WORK" ]; then
    bench "C program, no work" "$WORK" 1 0
    bench "C program, 30 M iterations" "$WORK" 1 30
fi
exit 0
