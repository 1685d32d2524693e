#!/bin/sh
# run.sh CPROF PICPROF WORK SRC — the browser tests: headless Chromium
# driven by playwright-core (installed by setup.sh from package-lock.json)
# loads the flame graph file and every web UI view.  Screenshots land in
# WORK.  Skipped (77) when Chromium or the npm package is not available.
set -eu
cprof=$1 picprof=$2 work=$3 src=$4
chromium=${CHROMIUM:-/usr/bin/chromium}
[ -x "$chromium" ] || { echo "SKIP: no $chromium"; exit 77; }
command -v node >/dev/null 2>&1 || { echo "SKIP: no node"; exit 77; }
sh "$src/setup.sh" || { echo "SKIP: playwright-core could not be installed (npm ci)"; exit 77; }
rm -rf "$work"
mkdir -p "$work"
"$picprof" "$work/p.pb.gz"
"$picprof" "$work/base.pb.gz" 2
"$cprof" flame -o "$work/flame.html" "$work/p.pb.gz" 2>/dev/null
"$cprof" flame -o "$work/flame-diff.html" -base "$work/base.pb.gz" "$work/p.pb.gz" 2>/dev/null
"$cprof" web -http=127.0.0.1:0 -no_browser -base "$work/base.pb.gz" "$work/p.pb.gz" \
  >"$work/web.out" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
i=0
while ! grep -q '^Serving web UI on' "$work/web.out" 2>/dev/null; do
  i=$((i + 1)); [ $i -lt 100 ] || { cat "$work/web.out"; echo "FAIL: web UI did not start"; exit 1; }
  sleep 0.1
done
url=$(sed -n 's/^Serving web UI on //p' "$work/web.out")
NODE_PATH="$src/node_modules" CHROMIUM="$chromium" node "$src/browser_test.js" "$work" "$url"
