#!/bin/sh
# continuous.sh MODE PROG PSUM LIB [LOCKS_KNOWN] — CPROF_PERIOD/SIGNAL/DURATION/KEEP end to end.
#   period:   periodic CPU files named with %n and %t add up to the run's CPU
#   alloc:    alloc deltas of the periods sum exactly to the program's own
#             count at CPROF_HEAP_RATE=1; the last file's in-use is the live set
#   late:     10 ms periods: a late writer merges periods, the sum holds
#   keep:     CPROF_KEEP=3 leaves exactly the newest 3 files
#   signal:   CPROF_SIGNAL=USR2 writes every profile on each kill
#   handler:  a program that takes USR2 itself gets it (one line from cprof)
#   blockall: a program blocking every signal still gets files on kill
#   duration: CPROF_DURATION stops after the time; the program goes on
#   exec:     an exec'd image numbers its files after the old image's
#   fork:     a forked child has no writer and writes once, at its exit
#   locks:    mutex contentions of the periods add up to the exact count
#   python:   a real program (python3) under CPROF_PERIOD gives files
# Every file is read by go tool pprof.
set -eu
mode=$1 prog=$2 psum=$3 lib=$4
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; ls -l "$dir"; exit 1; }

pprof_all() {
    for f in "$@"; do
        go tool pprof -raw "$f" >"$dir/raw.txt" 2>&1 || { cat "$dir/raw.txt"; fail "go tool pprof -raw $f"; }
    done
}

# wait_files GLOB N: until at least N files match (10 s at most)
wait_files() {
    i=0
    while [ "$(ls $1 2>/dev/null | wc -l)" -lt "$2" ]; do
        i=$((i + 1))
        [ $i -gt 200 ] && return 1
        sleep 0.05
    done
    return 0
}

case $mode in
period)
    CPROF_CPU="$dir/cpu.%n.%t.pb.gz" CPROF_PERIOD=0.3 LD_PRELOAD=$lib "$prog" spin 1.5 >"$dir/out"
    cat "$dir/out"
    n=$(ls "$dir"/cpu.*.pb.gz | wc -l)
    [ "$n" -ge 4 ] || fail "expected at least 4 period files, got $n"
    for f in "$dir"/cpu.*.pb.gz; do
        echo "$(basename "$f")" | grep -Eq '^cpu\.[0-9]+\.[0-9]{8}T[0-9]{6}Z\.pb\.gz$' ||
            fail "bad name $f"
    done
    # %n runs 1..n without a gap
    seqs=$(ls "$dir" | sed -n 's/^cpu\.\([0-9]*\)\..*/\1/p' | sort -n | tr '\n' ' ')
    [ "$seqs" = "$(seq 1 "$n" | tr '\n' ' ')" ] || fail "sequence numbers $seqs"
    total=$("$psum" cpu "$dir"/cpu.*.pb.gz)
    truth=$(sed -n 's/.*thread_ns=\([0-9]*\).*/\1/p' "$dir/out")
    proc=$(sed -n 's/.*proc_ns=\([0-9]*\).*/\1/p' "$dir/out")
    echo "periods=$n sum_cpu_ns=$total thread_cpu_ns=$truth process_cpu_ns=$proc"
    awk -v a="$total" -v b="$truth" 'BEGIN { r = a / b; printf "ratio %.4f\n", r; exit !(r > 0.95 && r < 1.05) }' ||
        fail "periods do not add up to the run's CPU within 5%"
    pprof_all "$dir"/cpu.*.pb.gz
    ;;
alloc)
    CPROF_HEAP="$dir/heap.%n.pb.gz" CPROF_HEAP_RATE=1 CPROF_PERIOD=0.2 LD_PRELOAD=$lib "$prog" alloc 0.6 >"$dir/out"
    cat "$dir/out"
    n=$(ls "$dir"/heap.*.pb.gz | wc -l)
    [ "$n" -ge 3 ] || fail "expected at least 3 period files, got $n"
    files=$(ls "$dir" | sed -n 's/^heap\.\([0-9]*\)\.pb\.gz$/\1/p' | sort -n | sed "s|.*|$dir/heap.&.pb.gz|")
    last=$(echo "$files" | tail -1)
    objs=$("$psum" alloc_objects --focus alloc_here $files 2>/dev/null)
    bytes=$("$psum" alloc_space --focus alloc_here $files 2>/dev/null)
    live=$("$psum" inuse_objects --focus alloc_here "$last" 2>/dev/null)
    live_bytes=$("$psum" inuse_space --focus alloc_here "$last" 2>/dev/null)
    echo "sum over $n periods: objects=$objs bytes=$bytes; last file: live=$live live_bytes=$live_bytes"
    grep -q "objects=$objs bytes=$bytes live=$live live_bytes=$live_bytes\$" "$dir/out" ||
        fail "period deltas do not add up to the program's own counts"
    # each period holds its own allocations, not the run's so far
    first=$(echo "$files" | head -1)
    f1=$("$psum" alloc_objects --focus alloc_here "$first" 2>/dev/null)
    [ "$f1" -gt 0 ] && [ "$f1" -lt "$objs" ] || fail "first period holds $f1 of $objs"
    pprof_all $files
    ;;
late)
    # 10 ms periods: the writer falls behind on a loaded machine; period
    # ends it passed are merged into the next file (a comment says how
    # many), and the files still add up
    CPROF_CPU="$dir/cpu.%n.pb.gz" CPROF_PERIOD=0.01 LD_PRELOAD=$lib "$prog" spin 0.6 >"$dir/out"
    n=$(ls "$dir"/cpu.*.pb.gz | wc -l)
    total=$("$psum" cpu "$dir"/cpu.*.pb.gz 2>"$dir/psum.txt")
    truth=$(sed -n 's/.*thread_ns=\([0-9]*\).*/\1/p' "$dir/out")
    late=$(for f in "$dir"/cpu.*.pb.gz; do zcat "$f" | grep -c "period end(s) passed" || true; done | awk '{ s += $1 } END { print s + 0 }')
    echo "files=$n (with a late-period comment: $late) sum_cpu_ns=$total thread_cpu_ns=$truth"
    [ "$n" -ge 10 ] || fail "only $n files at 10 ms periods"
    awk -v a="$total" -v b="$truth" 'BEGIN { exit !(a / b > 0.95 && a / b < 1.05) }' ||
        fail "the periods do not add up within 5%"
    pprof_all "$dir/cpu.1.pb.gz" "$dir/cpu.$n.pb.gz"
    ;;
keep)
    CPROF_CPU="$dir/cpu.%n.pb.gz" CPROF_PERIOD=0.1 CPROF_KEEP=3 LD_PRELOAD=$lib "$prog" spin 0.8 >"$dir/out"
    n=$(ls "$dir"/cpu.*.pb.gz | wc -l)
    [ "$n" -eq 3 ] || fail "CPROF_KEEP=3 left $n files"
    seqs=$(ls "$dir" | sed -n 's/^cpu\.\([0-9]*\)\..*/\1/p' | sort -n | tr '\n' ' ')
    set -- $seqs
    [ "$1" -ge 4 ] && [ $(($1 + 1)) -eq "$2" ] && [ $(($2 + 1)) -eq "$3" ] ||
        fail "kept $seqs, not the newest three"
    echo "kept: $seqs"
    pprof_all "$dir"/cpu.*.pb.gz
    ;;
signal)
    CPROF_CPU="$dir/cpu.%n.pb.gz" CPROF_HEAP="$dir/heap.%n.pb.gz" CPROF_SIGNAL=USR2 \
        LD_PRELOAD=$lib "$prog" until "$dir/stop" >"$dir/out" 2>"$dir/err" &
    pid=$!
    sleep 0.3
    for k in 1 2 3; do
        kill -USR2 $pid
        wait_files "$dir/cpu.*.pb.gz" $k || fail "no CPU file after kill $k"
        wait_files "$dir/heap.*.pb.gz" $k || fail "no heap file after kill $k"
        sleep 0.2
    done
    touch "$dir/stop"
    wait $pid || fail "program exit status $?"
    grep -q "saw file" "$dir/out" || fail "program output: $(cat "$dir/out")"
    [ ! -s "$dir/err" ] || fail "stderr: $(cat "$dir/err")"
    n=$(ls "$dir"/cpu.*.pb.gz | wc -l)
    [ "$n" -eq 4 ] || fail "3 kills and the exit should give 4 CPU files, got $n"
    for k in 1 2 3; do
        c=$("$psum" cpu "$dir/cpu.$k.pb.gz" 2>/dev/null)
        [ "$c" -gt 0 ] || fail "cpu.$k.pb.gz holds no CPU"
    done
    echo "4 CPU files and $(ls "$dir"/heap.*.pb.gz | wc -l) heap files"
    pprof_all "$dir"/*.pb.gz
    ;;
handler)
    "$prog" handler 0.3 >"$dir/plain"
    CPROF_CPU="$dir/cpu.%n.pb.gz" CPROF_SIGNAL=USR2 LD_PRELOAD=$lib "$prog" handler 0.3 >"$dir/out" 2>"$dir/err" ||
        fail "exit status $?"
    cmp "$dir/plain" "$dir/out" || fail "output differs: $(cat "$dir/out") vs $(cat "$dir/plain")"
    cat "$dir/err"
    [ "$(wc -l <"$dir/err")" -eq 1 ] && grep -q "CPROF_SIGNAL.*own handler for signal" "$dir/err" ||
        fail "expected one line on stderr"
    grep -q "usr2=3" "$dir/out" || fail "the program's handler did not run"
    n=$(ls "$dir"/cpu.*.pb.gz | wc -l)
    [ "$n" -eq 1 ] || fail "the program's signals must not write files ($n files)"
    pprof_all "$dir"/cpu.*.pb.gz
    ;;
blockall)
    CPROF_CPU="$dir/cpu.%n.pb.gz" CPROF_SIGNAL=USR2 CPROF_PERIOD=0.5 \
        LD_PRELOAD=$lib "$prog" blockall "$dir/stop" >"$dir/out" 2>"$dir/err" &
    pid=$!
    wait_files "$dir/cpu.*.pb.gz" 1 || fail "no period file"
    before=$(ls "$dir"/cpu.*.pb.gz | wc -l)
    kill -USR2 $pid
    wait_files "$dir/cpu.*.pb.gz" $((before + 1)) || fail "no file after kill"
    touch "$dir/stop"
    wait $pid || fail "program exit status $?"
    grep -q "saw file" "$dir/out" || fail "program output"
    total=$("$psum" cpu --focus worker "$dir"/cpu.*.pb.gz 2>/dev/null)
    [ "$total" -gt 0 ] || fail "worker's CPU not sampled"
    echo "$(ls "$dir"/cpu.*.pb.gz | wc -l) files, worker cpu $total ns"
    pprof_all "$dir"/cpu.*.pb.gz
    ;;
duration)
    CPROF_CPU="$dir/cpu.pb.gz" CPROF_DURATION=0.5 LD_PRELOAD=$lib "$prog" until "$dir/cpu.pb.gz" 0.8 >"$dir/out" 2>"$dir/err" ||
        fail "exit status $?"
    grep -q "saw file" "$dir/out" || fail "the file did not appear while the program ran"
    [ ! -s "$dir/err" ] || fail "stderr: $(cat "$dir/err")"
    c=$("$psum" cpu "$dir/cpu.pb.gz")
    echo "CPU in the profile: $c ns (the program ran 0.8 s of CPU after it appeared)"
    # one thread cannot use more CPU than the 0.5 s of wall time (a loaded
    # machine may grant it much less; its tail still counts, so never 0)
    [ "$c" -gt 0 ] && [ "$c" -lt 600000000 ] || fail "$c ns is not within the 0.5 s"
    pprof_all "$dir/cpu.pb.gz"
    ;;
fork)
    # the child has no writer thread; it writes once, at its exit, under its
    # own pid; the parent's periods go on
    CPROF_CPU="$dir/cpu.%p.%n.pb.gz" CPROF_PERIOD=0.2 LD_PRELOAD=$lib "$prog" fork 0.6 >"$dir/out" 2>"$dir/err" ||
        fail "exit status $?"
    cat "$dir/out"
    grep -qx "child_threads=1" "$dir/out" || fail "the child has more than its one thread"
    grep -qx "parent_threads=2 child_status=0" "$dir/out" || fail "the parent lacks its writer"
    [ ! -s "$dir/err" ] || fail "stderr: $(cat "$dir/err")"
    pids=$(ls "$dir" | sed -n 's/^cpu\.\([0-9]*\)\.[0-9]*\.pb\.gz$/\1/p' | sort | uniq -c | sort -n)
    echo "files per pid: $(echo $pids)"
    [ "$(echo "$pids" | wc -l)" -eq 2 ] || fail "want files of two processes"
    [ "$(echo "$pids" | head -1 | awk '{print $1}')" -eq 1 ] || fail "the child wrote more than one file"
    [ "$(echo "$pids" | tail -1 | awk '{print $1}')" -ge 3 ] || fail "the parent wrote too few periods"
    pprof_all "$dir"/cpu.*.pb.gz
    ;;
exec)
    # an exec'd image keeps the pid: its periods are numbered after the old
    # image's files, none is replaced, and together they add up (the
    # thread's CPU clock runs on across exec)
    CPROF_CPU="$dir/cpu.%p.%n.pb.gz" CPROF_PERIOD=0.15 LD_PRELOAD=$lib "$prog" exec 0.5 >"$dir/out"
    cat "$dir/out"
    n=$(ls "$dir"/cpu.*.pb.gz | wc -l)
    seqs=$(ls "$dir" | sed -n 's/^cpu\.[0-9]*\.\([0-9]*\)\.pb\.gz$/\1/p' | sort -n | tr '\n' ' ')
    [ "$seqs" = "$(seq 1 "$n" | tr '\n' ' ')" ] || fail "sequence numbers $seqs"
    total=$("$psum" cpu "$dir"/cpu.*.pb.gz 2>/dev/null)
    truth=$(sed -n 's/.*thread_ns=\([0-9]*\).*/\1/p' "$dir/out")
    echo "files=$n sum_cpu_ns=$total thread_cpu_ns=$truth"
    awk -v a="$total" -v b="$truth" 'BEGIN { exit !(a / b > 0.95 && a / b < 1.05) }' ||
        fail "the two images' periods do not add up within 5%"
    pprof_all "$dir"/cpu.*.pb.gz
    ;;
locks)
    # a cumulative type of another collector: contentions of the periods
    # add up to the program's own exact count
    known=$5
    CPROF_MUTEX="$dir/mutex.%n.pb.gz" CPROF_PERIOD=0.05 LD_PRELOAD=$lib "$known" >"$dir/out"
    n=$(ls "$dir"/mutex.*.pb.gz | wc -l)
    [ "$n" -ge 2 ] || fail "expected at least 2 mutex files, got $n"
    want=$(awk '$1 == "site_mutex_contended" { print $3 }' "$dir/out")
    got=$("$psum" contentions --focus site_mutex_contended "$dir"/mutex.*.pb.gz 2>/dev/null)
    echo "site_mutex_contended: $got contentions over $n periods, the program counted $want"
    [ "$got" = "$want" ] || fail "periods do not add up"
    pprof_all "$dir"/mutex.*.pb.gz
    ;;
python)
    command -v python3 >/dev/null || { echo "no python3"; exit 77; }
    CPROF_CPU="$dir/py.%n.pb.gz" CPROF_PERIOD=0.3 LD_PRELOAD=$lib python3 -c '
import time
t = time.process_time()
x = 0
while time.process_time() - t < 1.2:
    x += sum(i * i for i in range(1000))
print("ok")' >"$dir/out"
    grep -q ok "$dir/out" || fail "python output"
    n=$(ls "$dir"/py.*.pb.gz | wc -l)
    [ "$n" -ge 3 ] || fail "python3 gave $n files"
    total=$("$psum" cpu "$dir"/py.*.pb.gz)
    echo "python3: $n files, $total ns of CPU"
    [ "$total" -gt 900000000 ] || fail "too little CPU"
    pprof_all "$dir"/py.*.pb.gz
    ;;
*) fail "unknown mode $mode" ;;
esac
echo PASS
