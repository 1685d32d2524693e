#!/bin/sh
# bench_flame.sh BUILD — the flame graph of the 150k-stack profile
# (bench/gen_profile): time of `cprof flame`, the HTML's size, and its
# first paint in headless Chromium (navigation start to the end of the
# first draw, which flame.js stamps on <body data-painted>; three loads,
# the first one reported).
# Goals (issue 11): first paint < 2 s, HTML < 10 MB.  Never fails on time.
set -u
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
gen="$build/bench/gen_profile"
cprof="$build/cprof"
dir="$build/bench"
if [ ! -x "$gen" ] || [ ! -x "$cprof" ]; then
  echo "bench_flame: $gen or $cprof not built; run make first"
  exit 0
fi
if [ ! -x /usr/bin/chromium ] || ! sh "$here/../tests/browser/setup.sh"; then
  echo "bench_flame: needs /usr/bin/chromium and playwright-core (tests/browser/setup.sh)"
  exit 0
fi
mkdir -p "$dir"
prof="$dir/flame-150000.pb.gz"
[ -s "$prof" ] && [ "$prof" -nt "$gen" ] || "$gen" -stacks 150000 "$prof" >/dev/null 2>&1
html="$(cd "$dir" && pwd)/flame-150000.html"
t0=$(date +%s%N)
"$cprof" flame -o "$html" "$prof" 2>/dev/null || { echo "bench_flame: cprof flame failed"; exit 0; }
t1=$(date +%s%N)
size=$(wc -c <"$html")
# baseline in the same run: cprof top on the same profile (decode + graph)
t2=$(date +%s%N)
"$cprof" top "$prof" >/dev/null 2>&1
t3=$(date +%s%N)
NODE_PATH="$here/../tests/browser/node_modules" node - "$html" <<'JS' >"$dir/flame-paint.txt" 2>&1
const { chromium } = require('playwright-core');
(async () => {
  const b = await chromium.launch({ executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  const all = [];
  for (let i = 0; i < 3; i++) {
    const p = await b.newPage({ viewport: { width: 1400, height: 900 } });
    await p.goto('file://' + process.argv[2], { waitUntil: 'load', timeout: 60000 });
    await p.waitForFunction(() => document.body.dataset.painted, null, { timeout: 60000 });
    const t = parseFloat(await p.evaluate(() => document.body.dataset.painted));
    all.push(t.toFixed(0));
    await p.close();
  }
  await b.close();
  console.log(all[0] + ' ms (first load; then ' + all.slice(1).join(', ') + ' ms)');
})().catch(e => { console.log('error ' + e.message); process.exit(1); });
JS
paint=$(cat "$dir/flame-paint.txt")
nodes=$(grep -o '"hidden":[0-9]*' "$html" | head -1 | cut -d: -f2)
ft=$(( (t1 - t0) / 1000000 )) tt=$(( (t3 - t2) / 1000000 ))
echo "flame 150k stacks: cprof flame $ft ms ($(awk -v a="$ft" -v b="$tt" 'BEGIN{printf "%.2f", a/(b?b:1)}')x cprof top's $tt ms); HTML $(awk -v s="$size" 'BEGIN{printf "%.2f MB", s/1048576}') (goal < 10 MB); first paint $paint (goal < 2000 ms); $nodes frames pruned (< 1/20000 of the total)"
