#!/bin/sh
# errors.sh — cprof's usage errors exit 2, runtime failures exit 1 and name
# the file, help exits 0.
# Usage: errors.sh CPROF_BINARY WORKDIR
set -u
CPROF=$1
WORK=$2
mkdir -p "$WORK"
fail=0
# expect STATUS PATTERN ARGS...: exit status and a stderr substring
expect() {
    want=$1
    pat=$2
    shift 2
    "$CPROF" "$@" >"$WORK/out" 2>"$WORK/err"
    got=$?
    if [ "$got" -ne "$want" ]; then
        echo "FAIL: cprof $*: exit $got, want $want; stderr: $(cat "$WORK/err")"
        fail=$((fail + 1))
    elif [ -n "$pat" ] && ! grep -q -- "$pat" "$WORK/err"; then
        echo "FAIL: cprof $*: stderr lacks '$pat': $(cat "$WORK/err")"
        fail=$((fail + 1))
    fi
}
# PROFS (set by compare.sh) names a directory of real profiles for the
# checks that need one.
expect 0 "" help
expect 0 "" -h
expect 0 "" top -h
expect 0 "" peek x -help
expect 2 "usage" 
expect 2 "unknown command" frobnicate x
expect 2 "unknown flag -bogus" top -bogus x.pb.gz
expect 2 "no profile source" top
expect 2 "flag needs an argument" top x.pb.gz -focus
expect 2 "invalid value for -nodecount" top -nodecount=abc x.pb.gz
expect 2 "conflicting" top -lines -files x.pb.gz
expect 2 "conflicting options set: \[flat cum\]" top -flat -cum x.pb.gz
expect 2 "call_tree is not supported for dot" dot -call_tree x.pb.gz
expect 2 "conflicting options set" -text -cum -flat=true x.pb.gz
expect 2 "at most one output format" -top -traces x.pb.gz
expect 1 "nosuch.pb.gz" top "$WORK/nosuch.pb.gz"
expect 2 "no command to run" record --cpu
expect 2 "unknown flag --bogus" record --bogus -- true
printf 'not a profile at all' >"$WORK/junk.pb.gz"
expect 1 "junk.pb.gz" top "$WORK/junk.pb.gz"
printf '\037\213\010\000\000\000\000\000\000\003\343' >"$WORK/trunc.pb.gz"
expect 1 "trunc.pb.gz" top "$WORK/trunc.pb.gz"
expect 2 "merge needs -o" merge x.pb.gz
if [ -n "${PROFS:-}" ] && [ -s "$PROFS/cpu.pb.gz" ]; then
    expect 2 "sample_index" top -sample_index=nope "$PROFS/cpu.pb.gz"
    expect 2 "outside the range" top -sample_index=7 "$PROFS/cpu.pb.gz"
    expect 2 "focus regexp" top "-focus=a(" "$PROFS/cpu.pb.gz"
    expect 2 "tagfocus" top "-tagfocus=x(" "$PROFS/cpu.pb.gz"
    expect 1 "no matches found" peek zzzz_nomatch "$PROFS/cpu.pb.gz"
    expect 0 "" -top -nodecount=1 "$PROFS/cpu.pb.gz"
    expect 0 "Generating report" top -o "$WORK/top.txt" "$PROFS/cpu.pb.gz"
    grep -q "flat%" "$WORK/top.txt" || { echo "FAIL: -o wrote no report"; fail=$((fail + 1)); }
    expect 0 "" merge -o "$WORK/m.pb.gz" "$PROFS/cpu.pb.gz" "$PROFS/cpu.pb.gz"
    # the merged profile doubles every value and go tool pprof reads it
    one=$("$CPROF" top -nodecount=1 -unit=ns "$PROFS/cpu.pb.gz" | tail -1 | sed 's/^ *\([0-9]*\)ns.*/\1/')
    two=$("$CPROF" top -nodecount=1 -unit=ns "$WORK/m.pb.gz" | tail -1 | sed 's/^ *\([0-9]*\)ns.*/\1/')
    if [ "$two" != "$((2 * one))" ]; then
        echo "FAIL: merged top value $two, want 2 x $one"
        fail=$((fail + 1))
    fi
    # folded stacks: one line per stack, values summing to the total
    fsum=$("$CPROF" folded "$PROFS/cpu.pb.gz" | python3 -c 'import sys; print(sum(int(l.split()[-1]) for l in sys.stdin))')
    total=$("$CPROF" top -unit=ns "$PROFS/cpu.pb.gz" | sed -n 's/^Showing nodes accounting for .* of \([0-9]*\)ns total$/\1/p')
    if [ -z "$total" ] || [ "$fsum" != "$total" ]; then
        echo "FAIL: folded sum $fsum, top total $total"
        fail=$((fail + 1))
    fi
    if "$CPROF" folded "$PROFS/cpu.pb.gz" | grep -qv '^[^ ]* [0-9-]*$\|^.* [0-9-]*$'; then
        echo "FAIL: folded lines are not 'stack value'"
        fail=$((fail + 1))
    fi
    if command -v go >/dev/null 2>&1; then
        go tool pprof -top "$WORK/m.pb.gz" >/dev/null 2>&1 || { echo "FAIL: go tool pprof cannot read merge output"; fail=$((fail + 1)); }
    fi
    # a newline in a function name cannot forge a folded line
    if [ -s "$PROFS/edge_names.pb.gz" ]; then
        "$CPROF" folded "$PROFS/edge_names.pb.gz" >"$WORK/names.folded"
        nl=$(wc -l <"$WORK/names.folded")
        bad=$(grep -avc ' [0-9-]*$' "$WORK/names.folded")
        if [ "$nl" -ne 8 ] || [ "$bad" -ne 0 ] || ! grep -aq 'line\\nbreak' "$WORK/names.folded"; then
            echo "FAIL: folded of names with newlines: $nl lines (want 8), $bad without a value"
            fail=$((fail + 1))
        fi
    fi
    echo "errors: top value single ${one}ns, merged with itself ${two}ns"
fi
echo "errors: $fail failures"
[ $fail -eq 0 ]
