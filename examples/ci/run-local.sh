#!/bin/sh
# run-local.sh [--slow[=PCT]] OUTDIR — the CI example's steps on this
# machine, as .github-workflow.yml and gitlab-ci.yml run them:
#   1. build (make), unless CPROF and BENCH name built binaries;
#   2. the baseline: profiles kept from the main branch (in CI an artifact);
#      here BASELINE (default OUTDIR/baseline), recorded from the unchanged
#      benchmark when it holds no profile yet;
#   3. run the benchmark RUNS times under cprof record (--slow: the change
#      under review makes checksum slower);
#   4. cprof gate BASELINE -- NEW: the text report to the log, the Markdown
#      one to OUTDIR/summary.md (and $GITHUB_STEP_SUMMARY when set);
#   5. a flame graph of the new profiles, when this cprof has `flame`.
# Exit status: the gate's (0 no regression, 1 regression, 2 bad input).
# Environment: CPROF, BENCH, RUNS (2), WORK (25), HZ (1000), GATE_FLAGS.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
slow=
case "${1:-}" in --slow*) slow=$1; shift ;; esac
[ $# = 1 ] || { echo "usage: run-local.sh [--slow[=PCT]] OUTDIR" >&2; exit 2; }
out=$1
runs=${RUNS:-2} work=${WORK:-25} hz=${HZ:-1000}

echo "== 1. build"
if [ -z "${CPROF:-}" ] || [ -z "${BENCH:-}" ]; then
  make -C "$root" >/dev/null
  CPROF=$root/build/cprof BENCH=$root/build/examples/ci-bench
fi
mkdir -p "$out/new"
baseline=${BASELINE:-$out/baseline}
mkdir -p "$baseline"

echo "== 2. baseline profiles: $baseline"
if ! ls "$baseline"/*.pb.gz >/dev/null 2>&1; then
  echo "(none kept yet: recording the unchanged benchmark, as the main branch's job does)"
  i=1
  while [ $i -le "$runs" ]; do
    "$CPROF" record --hz "$hz" -o "$baseline/bench.$i.pb.gz" -- "$BENCH" "$work"
    i=$((i + 1))
  done
fi

echo "== 3. benchmark under cprof record ${slow:-(unchanged)}"
rm -f "$out/new"/*.pb.gz
i=1
while [ $i -le "$runs" ]; do
  "$CPROF" record --hz "$hz" -o "$out/new/bench.$i.pb.gz" -- "$BENCH" $slow "$work"
  i=$((i + 1))
done

echo "== 4. regression gate"
set +e
# shellcheck disable=SC2086
"$CPROF" gate ${GATE_FLAGS:-} "$baseline"/*.pb.gz -- "$out/new"/*.pb.gz
status=$?
# shellcheck disable=SC2086
"$CPROF" gate ${GATE_FLAGS:-} -format=markdown "$baseline"/*.pb.gz -- "$out/new"/*.pb.gz \
  >"$out/summary.md"
set -e
if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
  cat "$out/summary.md" >>"$GITHUB_STEP_SUMMARY"
fi

echo "== 5. flame graph"
if "$CPROF" help 2>/dev/null | grep -q '^  flame '; then
  "$CPROF" flame -o "$out/flame.html" "$out/new"/*.pb.gz ||
    echo "(cprof flame failed; the gate's verdict stands)"
else
  echo "(this cprof has no flame command; skipped)"
fi
echo "gate exit status: $status"
exit $status
