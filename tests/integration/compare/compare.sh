#!/bin/sh
# compare.sh — cprof's text reports against go tool pprof's, byte for byte.
#
# Usage: compare.sh CPROF_BINARY SOURCE_ROOT WORKDIR [MKPROFILE [RANDPROF [EDGEPROF [DUPPROF]]]]
# Builds the Go oracle (tests/go/oracle), which writes real cpu, heap,
# allocs, mutex, block, goroutine and threadcreate profiles with labels,
# then for every profile, report and flag combination below runs both tools
# with TZ=UTC and diffs stdout.  Any difference fails with the diff.
set -u
CPROF=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
SRC=$2
WORK=$3
MKPROFILE=${4:-}
if [ -n "$MKPROFILE" ]; then
    MKPROFILE=$(cd "$(dirname "$MKPROFILE")" && pwd)/$(basename "$MKPROFILE")
fi
RANDPROF=${5:-}
if [ -n "$RANDPROF" ]; then
    RANDPROF=$(cd "$(dirname "$RANDPROF")" && pwd)/$(basename "$RANDPROF")
fi
EDGEPROF=${6:-}
if [ -n "$EDGEPROF" ]; then
    EDGEPROF=$(cd "$(dirname "$EDGEPROF")" && pwd)/$(basename "$EDGEPROF")
fi
DUPPROF=${7:-}
if [ -n "$DUPPROF" ]; then
    DUPPROF=$(cd "$(dirname "$DUPPROF")" && pwd)/$(basename "$DUPPROF")
fi
export TZ=UTC
mkdir -p "$WORK"
export GOCACHE="$WORK/gocache" GOPATH="$WORK/gopath" GOFLAGS=-mod=mod GOTOOLCHAIN=local
export HOME="${HOME:-$WORK}" PPROF_TMPDIR="$WORK/pproftmp"
if ! command -v go >/dev/null 2>&1; then
    echo "compare: go not installed (tools/deps.sh installs golang-go)" >&2
    exit 1
fi
PROFS="$WORK/profiles"
# Written afresh each run: a profile left by an earlier run (or
# overwritten by a test of ours) must never stand in for go's.
rm -rf "$PROFS"
(cd "$SRC/tests/go/oracle" && go build -o "$WORK/oracle" .) || exit 1
"$WORK/oracle" "$PROFS" || exit 1

# cprof's own profiles of a C program, written afresh on every run (the
# writer under test is libcprof's, not go's)
LIB=$(dirname "$CPROF")/libcprof.so
CPROFS="c_cpu c_heap"
rm -f "$PROFS/c_cpu.pb.gz" "$PROFS/c_heap.pb.gz"
[ -e "$LIB" ] || { echo "compare: FAIL: $LIB missing" >&2; exit 1; }
if ldd "$LIB" | grep -q 'libasan\|libtsan'; then
    # A sanitized library cannot be preloaded into an uninstrumented
    # program; the plain build's run compares these profiles.
    echo "compare: sanitizer build: libcprof's own profiles are compared in the plain build" >&2
    CPROFS=""
else
    cc -O2 -g -o "$WORK/cprog" "$SRC/tests/integration/compare/cprog.c" ||
        { echo "compare: FAIL: cannot build cprog.c" >&2; exit 1; }
    CPROF_CPU="$PROFS/c_cpu.pb.gz" CPROF_HEAP="$PROFS/c_heap.pb.gz" CPROF_HEAP_RATE=1 \
        LD_PRELOAD="$LIB" "$WORK/cprog" >/dev/null ||
        { echo "compare: FAIL: cprog under libcprof exited $?" >&2; exit 1; }
fi
for f in $CPROFS; do
    [ -s "$PROFS/$f.pb.gz" ] || { echo "compare: FAIL: libcprof wrote no $f.pb.gz" >&2; exit 1; }
done

fail=0
n=0
# run REPORT FLAGS... PROFILE...: compare `go tool pprof -REPORT FLAGS` and
# `cprof REPORT FLAGS`.
run() {
    rep=$1
    shift
    n=$((n + 1))
    go tool pprof "-$rep" "$@" >"$WORK/go.out" 2>"$WORK/go.err"
    gs=$?
    "$CPROF" "$rep" "$@" >"$WORK/c.out" 2>"$WORK/c.err"
    cs=$?
    if [ $gs -ne 0 ]; then
        # go failed: we must fail too
        if [ $cs -eq 0 ]; then
            echo "FAIL: cprof $rep $*: go tool pprof failed ($(head -c 300 "$WORK/go.err")) but cprof succeeded"
            fail=$((fail + 1))
        fi
        return
    fi
    if ! cmp -s "$WORK/go.out" "$WORK/c.out" && [ "${GO_RETRIES:-0}" -gt 0 ]; then
        # go tool pprof itself is not deterministic when edges tie on
        # weight and names; accept any of a few of its runs
        k=0
        while [ $k -lt "$GO_RETRIES" ]; do
            go tool pprof "-$rep" "$@" >"$WORK/go.out" 2>/dev/null
            cmp -s "$WORK/go.out" "$WORK/c.out" && break
            k=$((k + 1))
        done
    fi
    if ! cmp -s "$WORK/go.out" "$WORK/c.out"; then
        echo "FAIL: cprof $rep $* (exit $cs)"
        diff -u "$WORK/go.out" "$WORK/c.out" | head -40
        head -5 "$WORK/c.err"
        fail=$((fail + 1))
    fi
}

# peek and list take their regexp as the flag's value in go tool pprof
runrx() {
    rep=$1
    rx=$2
    shift 2
    n=$((n + 1))
    go tool pprof "-$rep" "$rx" "$@" >"$WORK/go.out" 2>"$WORK/go.err"
    "$CPROF" "$rep" "$rx" "$@" >"$WORK/c.out" 2>"$WORK/c.err"
    if ! cmp -s "$WORK/go.out" "$WORK/c.out"; then
        echo "FAIL: cprof $rep $rx $*"
        diff -u "$WORK/go.out" "$WORK/c.out" | head -40
        fail=$((fail + 1))
    fi
}

# runproto FLAGS... PROFILE...: go tool pprof -proto and cprof proto write
# profiles that go tool pprof -raw shows identically
runproto() {
    n=$((n + 1))
    go tool pprof -proto "$@" >"$WORK/go.pb.gz" 2>/dev/null
    "$CPROF" proto "$@" >"$WORK/c.pb.gz" 2>"$WORK/c.err"
    go tool pprof -raw "$WORK/go.pb.gz" >"$WORK/go.out" 2>&1
    go tool pprof -raw "$WORK/c.pb.gz" >"$WORK/c.out" 2>&1
    if ! cmp -s "$WORK/go.out" "$WORK/c.out"; then
        echo "FAIL: cprof proto $*"
        diff -u "$WORK/go.out" "$WORK/c.out" | head -30
        fail=$((fail + 1))
    fi
}

cd "$PROFS" || exit 1
ALL="cpu heap allocs mutex block goroutine threadcreate $CPROFS"
for f in $ALL; do
    p=$f.pb.gz
    for rep in top tree traces tags raw; do
        run $rep $p
    done
    run top -cum $p
    run top -nodecount=3 $p
    run top -nodefraction=0.1 $p
    run top -lines $p
    run top -files $p
    run top -addresses $p
    run top -filefunctions $p
    run top -noinlines $p
    run tree -nodecount=4 $p
    run tree -lines $p
    run top -unit=ms $p
    run top -unit=kb $p
    run tags -unit=kb $p
    run top -focus=main $p
    run top -ignore=runtime $p
    run top -hide=runtime $p
    run top -show=main $p
    run top -tagfocus=handler=/api/a $p
    run top -tagignore=api/b $p
    run traces -tagfocus=handler:/api/a $p
    run tags -focus=handle $p
    runrx peek 'main\.' $p
    runrx peek 'spin|alloc' -lines $p
    runrx list 'main\.|spin|mid|leaf' $p
    runrx list 'alloc|Unlock' $p
    run top -addresses -cum $p
    run tree -addresses $p
    run top -nodecount=4 -edgefraction=0.3 $p
    run tree -nodecount=6 -edgefraction=0.3 $p
    run dot $p
    run dot -edgefraction=0.3 $p
    run dot -nodecount=5 -lines $p
    run dot -nodefraction=0 -edgefraction=0 -focus=main $p
done
for si in 0 1 inuse_space alloc_objects; do
    run top -sample_index=$si heap.pb.gz
done
for s in -inuse_objects -alloc_space -alloc_objects -inuse_space; do
    run top $s heap.pb.gz
    run traces $s allocs.pb.gz
done
run top -sample_index=delay mutex.pb.gz
for f in mutex block; do
    run top -mean_delay $f.pb.gz
    run traces -mean_delay $f.pb.gz
    run tree -mean_delay $f.pb.gz
    run dot -mean_delay $f.pb.gz
    runrx list . -mean_delay $f.pb.gz
done
run top -contentions block.pb.gz
run top -total_delay block.pb.gz
run tags -tagfocus=1kB: allocs.pb.gz
run top -tagfocus=bytes=:512 allocs.pb.gz
run top '-focus=alloc\d' allocs.pb.gz
run top '-focus=(?i)MAIN\.' allocs.pb.gz
run top '-ignore=cpu[\dA-Z]' cpu.pb.gz
run top '-show=main\.\w+A$' cpu.pb.gz
run top -cum -nodecount=5 -focus=main -hide=runtime cpu.pb.gz
run tree -cum -lines -ignore=Sort cpu.pb.gz
run top -flat -nodefraction=0 -edgefraction=0 -lines heap.pb.gz
for f in cpu allocs c_cpu; do
    for fl in -show_from=handle -tagshow=handler -taghide=bytes '-prune_from=spin|alloc' \
        -divide_by=3 -compact_labels; do
        run top $fl $f.pb.gz
        run traces $fl $f.pb.gz
    done
    run tags -tagshow=b -taghide=by $f.pb.gz
    run tree -show_from=main -divide_by=0.5 -unit=ms $f.pb.gz
    run dot -compact_labels -prune_from=run $f.pb.gz
done
for f in cpu c_cpu; do
    runrx list main -source_path="$SRC" $f.pb.gz
    runrx list main -source_path="$SRC/tests:/usr/lib" $f.pb.gz
    runrx list main -trim_path="$SRC" -source_path=/nonexistent $f.pb.gz
    run top -lines -trim_path="$SRC/tests" $f.pb.gz
    run tree -lines -source_path="$SRC/tests" $f.pb.gz
done
run top -trim=false cpu.pb.gz
run tree -trim=false allocs.pb.gz
run top -add_comment=hello cpu.pb.gz
run raw -add_comment=hello cpu.pb.gz
run top -relative_percentages -focus=main allocs.pb.gz
for f in cpu allocs; do
    run top -tagroot=handler $f.pb.gz
    run traces -tagleaf=bytes -tagroot=handler $f.pb.gz
    run raw -tagroot=handler,bytes $f.pb.gz
    run tree -tagleaf=bytes -unit=kb $f.pb.gz
done
run top -tagleaf=count,handler -tagroot=bytes rand8.pb.gz
runproto cpu.pb.gz
runproto -focus=main -hide=runtime allocs.pb.gz
runproto -tagfocus=handler=/a -show_from=main -prune_from=spin cpu.pb.gz
runproto -base=heap.pb.gz allocs.pb.gz
runproto heap.pb.gz allocs.pb.gz
run top -normalize -base=heap.pb.gz allocs.pb.gz
run traces -normalize -diff_base=heap.pb.gz allocs.pb.gz
run top -base=heap.pb.gz allocs.pb.gz
run top -diff_base=heap.pb.gz allocs.pb.gz
run traces -base=heap.pb.gz allocs.pb.gz
run raw -diff_base=heap.pb.gz allocs.pb.gz
run top cpu.pb.gz cpu.pb.gz
run traces heap.pb.gz allocs.pb.gz
run raw cpu.pb.gz cpu.pb.gz
run tags heap.pb.gz allocs.pb.gz

# drop_frames/keep_frames and go's name simplification, on synthetic profiles
if [ -x "$MKPROFILE" ] || { echo "FAIL: mkprofile generator missing: '$MKPROFILE'"; fail=$((fail + 1)); false; }; then
    i=0
    for dk in 'malloc|tc_malloc|operator new' 'std::vector::push_back|helper' \
        'hidden|.*malloc' 'user_fn|(anonymous namespace)::helper' 'a(' ; do
        i=$((i + 1))
        "$MKPROFILE" "drop$i.pb.gz" "$dk" || { echo "FAIL: mkprofile drop$i"; fail=$((fail + 1)); continue; }
        for rep in top traces raw tree; do
            run $rep "drop$i.pb.gz"
        done
    done
    if "$MKPROFILE" keep.pb.gz 'malloc|tc_malloc' 'tc_malloc'; then
        for rep in top traces raw; do run $rep keep.pb.gz; done
    else
        echo "FAIL: mkprofile keep"
        fail=$((fail + 1))
    fi
fi

# random odd-shaped profiles: negative and zero values, empty stacks,
# recursion, inlining, repeated label keys, unsymbolized locations
if [ -x "$RANDPROF" ] || { echo "FAIL: randprof generator missing: '$RANDPROF'"; fail=$((fail + 1)); false; }; then
    GO_RETRIES=4
    for seed in 3 8 11 17 23 29 42 57 64 77; do
        "$RANDPROF" "rand$seed.pb.gz" $seed || { echo "FAIL: randprof $seed"; fail=$((fail + 1)); continue; }
        for rep in top traces tags raw tree dot; do
            run $rep "rand$seed.pb.gz"
        done
        run top -lines -cum "rand$seed.pb.gz"
        runrx list . "rand$seed.pb.gz"
    done
    run top -base=rand3.pb.gz rand8.pb.gz
    run raw -base=rand3.pb.gz rand8.pb.gz
    run raw rand3.pb.gz rand8.pb.gz rand11.pb.gz
    run traces -diff_base=rand29.pb.gz rand42.pb.gz rand57.pb.gz
    run raw -normalize -base=rand3.pb.gz rand8.pb.gz
    for f in rand3 rand29; do
        run top -drop_negative $f.pb.gz
        run tree -drop_negative -lines $f.pb.gz
        run dot -drop_negative $f.pb.gz
        run top -symbolize=none $f.pb.gz
        run top -relative_percentages -tagfocus=handler=/a $f.pb.gz
        run top -mean -lines $f.pb.gz
        run dot -mean $f.pb.gz
    done
    GO_RETRIES=0
fi

# comparisons and merges at the edges (edgeprof.c): labels in shuffled
# order, 65 labels, INT64_MIN/MAX and overflowing sums, NUL and newline in
# names; a base and a later profile of one program; profiles merged with
# themselves (by go: cpu_x2) as -base, -diff_base, -normalize and
# -drop_negative, through every report
if [ -x "$EDGEPROF" ] || { echo "FAIL: edgeprof generator missing: '$EDGEPROF'"; fail=$((fail + 1)); false; }; then
    GO_RETRIES=4
    for k in shuffled labels65 extreme names; do
        "$EDGEPROF" $k edge_$k.pb.gz || { echo "FAIL: edgeprof $k"; fail=$((fail + 1)); }
    done
    "$EDGEPROF" base edge_base0.pb.gz 0
    "$EDGEPROF" base edge_base1.pb.gz 1
    go tool pprof -proto cpu.pb.gz cpu.pb.gz >cpu_x2.pb.gz 2>/dev/null
    go tool pprof -proto edge_shuffled.pb.gz edge_shuffled.pb.gz >edge_shuffled_x2.pb.gz 2>/dev/null
    for rep in top tree traces raw dot; do
        run $rep -base=cpu_x2.pb.gz cpu.pb.gz
        run $rep cpu.pb.gz cpu.pb.gz
        run $rep -diff_base=cpu.pb.gz cpu_x2.pb.gz
        run $rep -normalize -base=cpu_x2.pb.gz cpu.pb.gz
        run $rep -drop_negative -base=cpu_x2.pb.gz cpu.pb.gz
        run $rep edge_shuffled.pb.gz
        run $rep edge_shuffled.pb.gz edge_shuffled.pb.gz
        run $rep -base=edge_shuffled_x2.pb.gz edge_shuffled.pb.gz
        run $rep -base=edge_base0.pb.gz edge_base1.pb.gz
        run $rep -diff_base=edge_base0.pb.gz edge_base1.pb.gz
        run $rep -normalize -base=edge_base0.pb.gz edge_base1.pb.gz
        run $rep -normalize -diff_base=edge_base0.pb.gz edge_base1.pb.gz
        run $rep -drop_negative -base=edge_base1.pb.gz edge_base0.pb.gz
        run $rep edge_base0.pb.gz edge_base1.pb.gz
        for k in labels65 extreme names; do
            run $rep edge_$k.pb.gz
            run $rep edge_$k.pb.gz edge_$k.pb.gz
            run $rep -base=edge_$k.pb.gz edge_$k.pb.gz
        done
        run $rep -sample_index=0 -base=edge_extreme.pb.gz edge_base0.pb.gz
    done
    for rx in . compute 'x'; do
        runrx peek "$rx" -base=cpu_x2.pb.gz cpu.pb.gz
        runrx peek "$rx" -diff_base=edge_base0.pb.gz edge_base1.pb.gz
        runrx peek "$rx" -normalize -base=edge_base0.pb.gz edge_base1.pb.gz
        runrx peek "$rx" -drop_negative -base=edge_base1.pb.gz edge_base0.pb.gz
        runrx peek "$rx" edge_base0.pb.gz edge_base1.pb.gz
        for k in shuffled labels65 extreme names; do
            runrx peek "$rx" edge_$k.pb.gz edge_$k.pb.gz
        done
    done
    run top -sample_index=1 -base=edge_extreme.pb.gz edge_extreme.pb.gz
    run traces -sample_index=1 edge_extreme.pb.gz
    run tags edge_shuffled.pb.gz edge_shuffled.pb.gz
    run tags edge_labels65.pb.gz
    run tags edge_names.pb.gz
    run top -focus='x' edge_names.pb.gz
    run top -tagfocus=k64=v1 edge_labels65.pb.gz edge_labels65.pb.gz
    runproto -divide_by=10 cpu.pb.gz
    runproto -divide_by=3 edge_extreme.pb.gz
    runproto -base=cpu_x2.pb.gz cpu.pb.gz
    runproto edge_shuffled.pb.gz edge_shuffled.pb.gz
    runproto edge_labels65.pb.gz edge_labels65.pb.gz
    runproto edge_names.pb.gz edge_names.pb.gz
    runproto edge_extreme.pb.gz edge_extreme.pb.gz
    # go tool pprof's other spellings: -text, -comments, [binary] profile
    run text cpu.pb.gz
    run text -cum edge_base1.pb.gz
    run comments rand3.pb.gz
    run comments -add_comment=extra rand8.pb.gz rand3.pb.gz
    run top /bin/ls cpu.pb.gz
    run raw /bin/ls edge_base0.pb.gz
    run raw /bin/ls goroutine.pb.gz
    run top -flat -cum cpu.pb.gz
    run top -call_tree cpu.pb.gz
    run tree -call_tree -base=cpu_x2.pb.gz cpu.pb.gz
    runrx peek main -call_tree cpu.pb.gz
    GO_RETRIES=0
fi

# repeated records (dupprof.c): strings, functions, mappings equal under
# go's key, locations equal once moved, samples equal with labels in
# another order, sums cancelling to zero, lines differing by column only,
# empty labels.  A single profile is folded in place (prep_fold.c); raw
# shows the builder's merge of the same input.
if [ -x "$DUPPROF" ] || { echo "FAIL: dupprof generator missing: '$DUPPROF'"; fail=$((fail + 1)); false; }; then
    for seed in 1 2 3 4 5 6; do
        "$DUPPROF" dup$seed.pb.gz $seed || { echo "FAIL: dupprof $seed"; fail=$((fail + 1)); continue; }
        for rep in traces top tags; do
            run $rep dup$seed.pb.gz
        done
        run traces -addresses dup$seed.pb.gz
        run traces -lines -sample_index=0 dup$seed.pb.gz
        run top -addresses -sample_index=0 dup$seed.pb.gz
    done
    "$DUPPROF" dupplain.pb.gz 7 plain
    for rep in raw tree dot; do
        run $rep dupplain.pb.gz
    done
    runrx peek . dupplain.pb.gz
fi

# profiles fetched over HTTP (python's static file server as the endpoint)
if command -v python3 >/dev/null 2>&1; then
    port=$((20000 + $$ % 20000))
    python3 -m http.server "$port" --bind 127.0.0.1 >"$WORK/http.log" 2>&1 &
    hpid=$!
    i=0
    while [ $i -lt 50 ] && ! python3 -c "import socket,sys;s=socket.socket();sys.exit(s.connect_ex(('127.0.0.1',$port)))" 2>/dev/null; do
        sleep 0.2
        i=$((i + 1))
    done
    # A server that never came up would make both tools fail alike, which
    # run() counts as agreement.
    if [ $i -ge 50 ]; then
        echo "FAIL: the test HTTP server did not start: $(head -c 300 "$WORK/http.log")"
        fail=$((fail + 1))
    fi
    run top "http://127.0.0.1:$port/heap.pb.gz"
    run traces -base="http://127.0.0.1:$port/cpu.pb.gz" cpu.pb.gz "http://127.0.0.1:$port/cpu.pb.gz"
    kill "$hpid" 2>/dev/null
    wait "$hpid" 2>/dev/null
fi

echo "compare: $n comparisons, $fail mismatches"
PROFS="$PROFS" "$SRC/tests/integration/compare/errors.sh" "$CPROF" "$WORK/errors" || fail=$((fail + 1))
[ $fail -eq 0 ]
