#!/bin/sh
# pictures.sh CPROF PICPROF WORK — folded, svg/png, the flame graph file and
# the web UI over HTTP, on a profile with known values and hostile names.
set -eu
cprof=$1 picprof=$2 work=$3
rm -rf "$work"
mkdir -p "$work"
cd "$work"
fail() { echo "FAIL: $*"; exit 1; }
# servers' pids go to a file: serve runs in a $(…) subshell
: >pids
trap 'for p in $(cat "$work/pids"); do kill "$p" 2>/dev/null || true; done' EXIT
"$picprof" p.pb.gz
"$picprof" base.pb.gz 2

echo "== folded: one line per stack, sums to the profile's total"
"$cprof" folded -sample_index=cpu p.pb.gz >cpu.folded
cat cpu.folded
[ "$(awk '{s += $NF} END {print s}' cpu.folded)" = 28000 ] || fail "cpu folded sum"
[ "$("$cprof" folded -sample_index=samples p.pb.gz | awk '{s += $NF} END {print s}')" = 28 ] ||
  fail "samples folded sum"
# ';' and the newline in names cannot forge frames or lines: 5 stacks of 3
[ "$(wc -l <cpu.folded)" = 5 ] || fail "folded line count"
awk '{ n = split($0, a, ";"); if (n != 3) exit 1 }' cpu.folded || fail "folded frame count"
# the same total as go tool pprof reads
if command -v go >/dev/null 2>&1; then
  go tool pprof -sample_index=cpu -top p.pb.gz 2>/dev/null | grep -q "of 28us total" ||
    fail "go tool pprof total"
fi

echo "== svg and png through graphviz dot"
"$cprof" svg -o g.svg p.pb.gz
grep -q '<svg' g.svg || fail "no svg"
grep -q 'serve_request' g.svg || fail "svg without names"
grep -q 'a&lt;img src=x onerror=alert(1)&gt;b' g.svg || fail "svg name not escaped"
if grep -q '<img' g.svg; then fail "svg has an img element"; fi
"$cprof" png -o g.png p.pb.gz
[ "$(head -c 4 g.png | od -An -c | tr -d ' ')" = "211PNG" ] || fail "png signature"
rc=0
env PATH=/nonexistent "$cprof" svg -o g2.svg p.pb.gz 2>nodot.err || rc=$?
cat nodot.err
[ "$rc" = 1 ] || fail "svg without dot: exit $rc"
grep -q "dot program was not found" nodot.err || fail "no clear message without dot"

echo "== flame graph file"
"$cprof" flame -o f.html p.pb.gz
if grep -q '<img' f.html; then fail "flame file has an img element"; fi
grep -qF 'a\u003cimg src=x onerror=alert(1)\u003eb' f.html || fail "flame name not escaped"
[ "$(grep -o '<script' f.html | wc -l)" = 2 ] || fail "flame file: script elements"
[ "$(grep -o '</script' f.html | wc -l)" = 2 ] || fail "flame file: script ends"
if grep -qE '(src|href)="?(https?:)?//' f.html; then fail "flame file loads remote resources"; fi
"$cprof" flame -o d.html -base base.pb.gz p.pb.gz
python3 - f.html d.html <<'PY'
import json, re, sys
def data(path):
    s = open(path, encoding='utf-8').read()
    m = re.search(r'<script type="application/json" id="flame-data">(.*?)</script>', s, re.S)
    return json.loads(m.group(1))
d = data(sys.argv[1])
assert d['total'] == 28000 and not d['diff'], d['total']
assert 'x</script><script>alert(2)</script>' in d['names'] and 'new\nline' in d['names']
st = 3
n = d['nodes']
assert n[0] == -1 and n[2] == 28000, n[:3]
# preorder [func, nchildren, value]: children never exceed their parent,
# the root's children sum to the total (every stack has frames)
def walk(i):
    j, s = i + 1, 0
    for _ in range(n[i * st + 1]):
        s += n[j * st + 2]
        j = walk(j)
    assert s <= n[i * st + 2], i
    if i == 0:
        assert s == 28000, s
    return j
assert walk(0) == len(n) // st
dd = data(sys.argv[2])
assert dd['diff'] and dd['total'] == 28000 and dd['btotal'] == 56000, (dd['total'], dd['btotal'])
print('flame json ok:', len(n) // st, 'nodes;', 'diff', dd['total'], dd['btotal'])
PY

echo "== web UI"
# serve PORTFILE ARGS...: start cprof web, wait for its URL
serve() {
  out=$1; shift
  "$cprof" "$@" >"$out" 2>&1 &
  echo $! >>pids
  i=0
  while ! grep -q '^Serving web UI on' "$out" 2>/dev/null; do
    i=$((i + 1)); [ $i -lt 100 ] || { cat "$out"; fail "web UI did not start"; }
    sleep 0.1
  done
  sed -n 's/^Serving web UI on //p' "$out"
}
url=$(serve web.out web -http=127.0.0.1:0 -no_browser p.pb.gz)
echo "$url"
curl -sS -D h.txt -o top.html "$url"
grep -q '^HTTP/1.1 200' h.txt || fail "/ status"
grep -qi '^X-Content-Type-Options: nosniff' h.txt || fail "nosniff"
grep -qi "^Content-Security-Policy: default-src 'none'; script-src 'self'" h.txt || fail "csp"
grep -q '<td class="name"><a href="[^"]*">serve_request</a>' top.html || fail "top table"
grep -q 'a&lt;img src=x onerror=alert(1)&gt;b' top.html || fail "top name escaped"
if grep -q '<img' top.html; then fail "top page has an img element"; fi
# a name with a newline stays one row: "new" and "line" in one link
grep -A1 '">new$' top.html | grep -q '^line</a>' || fail "top: name with a newline split"
[ "$(grep -c '<tr><td>' top.html)" = 9 ] || fail "top: rows"
[ "$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: evil.example:80' "$url")" = 403 ] ||
  fail "Host check"
[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$url")" = 405 ] || fail "POST"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$url/nope")" = 404 ] || fail "404"
curl -s "$url/nope%3Cscript%3E" | grep -q script && fail "404 echoes the path"
for v in flame graph source peek; do
  curl -sS -o "$v.html" -w '%{http_code}\n' "$url/?view=$v&si=cpu" | grep -q 200 || fail "view $v"
done
grep -q '<iframe id="flame-frame"' flame.html || fail "flame view"
grep -q '<svg' graph.html || fail "graph view"
grep -q 'ROUTINE' source.html || fail "source view"
curl -sS -D fh.txt -o frame.html "$url/flame?si=cpu&focus=parse"
grep -qi "script-src 'sha256-" fh.txt || fail "flame csp"
grep -q '"total":5000' frame.html || fail "flame focus"
curl -sS -o bad.html "$url/?view=top&focus=%3Cscript%3E(("
grep -q 'The report failed' bad.html || fail "bad pattern: no error"
if grep -q '<script>((' bad.html; then fail "bad pattern echoed"; fi
curl -sS -o ui.js "$url/static/ui.js"
grep -q 'use strict' ui.js || fail "asset"
# go tool pprof's form
url2=$(serve web2.out -http=127.0.0.1:0 -no_browser p.pb.gz)
curl -sS "$url2" | grep -q 'serve_request' || fail "-http form"
echo "pictures: ok"
