#!/bin/sh
# check10.sh [N] [REPO] — run `make check` N times (default 10) in a row in
# one fresh clone of REPO (default: this repository's HEAD), the way CI
# would, and print one line per run and a summary.  A suite that flakes
# shows here.  Exit status: 0 when every run passed.
set -u
n=${1:-10}
repo=${2:-$(cd "$(dirname "$0")/.." && pwd)}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
git clone -q "$repo" "$dir/clone" || { echo "check10: cannot clone $repo"; exit 2; }
cd "$dir/clone" || exit 2
echo "check10: $(git log --oneline -1) in $dir/clone, $n runs"
passed=0
i=1
while [ "$i" -le "$n" ]; do
  start=$(date +%s)
  if make check >"$dir/run$i.log" 2>&1; then
    passed=$((passed + 1))
    verdict=passed
  else
    verdict=FAILED
    mkdir -p "$repo/build-check10" && cp "$dir/run$i.log" "$repo/build-check10/run$i.log"
  fi
  echo "run $i: $verdict in $(( $(date +%s) - start )) s: $(grep '^check:' "$dir/run$i.log" | tail -1)"
  grep -E '^ *[0-9]+/[0-9]+ .*(FAIL|TIMEOUT)' "$dir/run$i.log" | sed 's/^/    /'
  i=$((i + 1))
done
echo "check10: $passed of $n runs passed"
[ "$passed" -eq "$n" ]
