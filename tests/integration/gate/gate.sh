#!/bin/sh
# gate.sh CPROF BENCH RUN_LOCAL CORPUS — cprof gate on real profiles of
# examples/ci/bench through the CI example's own script: same work passes
# (exit 0), a slowed-down checksum fails (exit 1) and is named; bad input
# exits 2 with a message.  Two short runs a side (so the run-to-run
# dispersion is measured, as CI should); the slowdown here is 10x, which
# they detect every time (a 15% one needs ~4000 samples a side: its
# detection rate is bench/bench_gate.sh's figure, not a make check test).
set -u
cprof=$1 bench=$2 runlocal=$3 corpus=$4
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
export CPROF="$cprof" BENCH="$bench" RUNS=2 WORK=8 BASELINE="$dir/baseline"
unset GITHUB_STEP_SUMMARY
# Shares, not CPU seconds: on a shared machine the same work's CPU time
# moves with the other load (seen: +40% between two phases of this test),
# which no statistics on the profiles can tell from a regression.
export GATE_FLAGS=-normalize

sh "$runlocal" "$dir/same" >"$dir/same.log" 2>&1; rc=$?
[ $rc = 0 ] || fail "same work: exit $rc: $(cat "$dir/same.log")"
grep -q "^cprof gate: no regression" "$dir/same.log" || fail "same work: no verdict line"
grep -q "^### cprof gate: no regression" "$dir/same/summary.md" || fail "summary.md heading"
grep -q "^| function | base | new | growth | p-value | verdict |" "$dir/same/summary.md" ||
  fail "summary.md has no table"

GITHUB_STEP_SUMMARY="$dir/step.md" sh "$runlocal" --slow=900 "$dir/slow" >"$dir/slow.log" 2>&1; rc=$?
[ $rc = 1 ] || fail "10x slower checksum: exit $rc, want 1: $(cat "$dir/slow.log")"
grep -q "^cprof gate: REGRESSION checksum +[0-9.]*% (p=" "$dir/slow.log" ||
  fail "checksum not named: $(cat "$dir/slow.log")"
[ "$(grep -c "^cprof gate: REGRESSION" "$dir/slow.log")" = 1 ] || fail "more than checksum flagged"
grep -q "^| checksum | .* | \*\*REGRESSION\*\* |" "$dir/step.md" || fail "GITHUB_STEP_SUMMARY lacks the row"

b=$dir/baseline/bench.1.pb.gz n=$dir/slow/new/bench.1.pb.gz
grep -q "run-to-run dispersion [0-9.]*;" "$dir/slow.log" || fail "no dispersion in the header"
# the pinned two-argument form; -cum tests every function on the stack
"$cprof" gate "$b" "$n" >/dev/null; [ $? = 1 ] || fail "gate BASE NEW did not flag"
"$cprof" gate -cum "$b" "$n" >"$dir/cum.out"; [ $? = 1 ] || fail "-cum did not flag"
grep -q "REGRESSION checksum" "$dir/cum.out" || fail "-cum: checksum not flagged"
grep -q " worker$" "$dir/cum.out" || fail "-cum: the caller worker is not in the table"
# -focus restricts to the stacks through a function: checksum's alone, so
# the table has no other function (an absolute comparison of the others
# would move with the machine's load)
"$cprof" gate -focus=checksum "$b" "$n" >"$dir/focus.out"; [ $? = 1 ] || fail "-focus=checksum did not flag"
! grep -q " render_line$" "$dir/focus.out" || fail "-focus=checksum: render_line in the table"
# a threshold above the growth passes
"$cprof" gate -threshold=5000 "$b" "$n" >/dev/null; [ $? = 0 ] || fail "-threshold=5000 flagged"
# -normalize: shares, not totals; the slowed function's share grows (one
# run a side: the small functions' shares move with the machine's load)
"$cprof" gate -normalize "$b" "$n" >"$dir/norm.out"; rc=$?
[ $rc = 0 ] || [ $rc = 1 ] || fail "-normalize: exit $rc"
grep -q -- "-normalize: new scaled to the base's total" "$dir/norm.out" || fail "-normalize not said"
grep -Eq -- " [+][0-9.]+% .* checksum$" "$dir/norm.out" || fail "-normalize: checksum's share did not grow"
# identical input passes with every function at p=1 or close
"$cprof" gate "$b" "$b" >/dev/null; [ $? = 0 ] || fail "a profile against itself flagged"

expect2() {
  "$cprof" gate "$@" >/dev/null 2>"$dir/err"; rc=$?
  [ $rc = 2 ] || fail "gate $*: exit $rc, want 2"
  [ -s "$dir/err" ] || fail "gate $*: no message"
}
expect2 "$b"
expect2 "$b" "$dir/nonexistent.pb.gz"
echo "not a profile" >"$dir/junk.pb.gz"
expect2 "$b" "$dir/junk.pb.gz"
grep -q "junk.pb.gz" "$dir/err" || fail "the unreadable file is not named"
expect2 -threshold=abc "$b" "$n"
expect2 -bogus "$b" "$n"
expect2 -sample_index=nosuch "$b" "$n"
expect2 "$b" -- "$corpus/go-mutex.pb.gz"
grep -q "sample type" "$dir/err" || fail "mixed types: message does not say sample type"
echo "gate: ok"
