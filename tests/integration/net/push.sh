#!/bin/sh
# push.sh CPROF NETSRV PROFILE... — `cprof push` against a loopback
# Pyroscope ingest receiver (netsrv.py) that checks every documented field:
# name APP.TYPE{labels}, from/until, format, spyName, the multipart parts,
# the bearer or basic Authorization and X-Scope-OrgID; what it received
# decodes to the same profiles; 5xx is retried, 4xx is not; -watch ships
# finished files only and -delete removes them.
set -u
cprof=$1 netsrv=$2; shift 2
dir=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
mkdir "$dir/spool"
python3 "$netsrv" "$dir/port" "$1" "$dir/spool" & pid=$!
n=0; while [ ! -f "$dir/port" ] && [ $n -lt 300 ]; do sleep 0.1; n=$((n + 1)); done
[ -f "$dir/port" ] || fail "receiver did not start"
srv=http://127.0.0.1:$(cat "$dir/port")
log=$dir/spool/log.jsonl
unset CPROF_PUSH_TOKEN CPROF_PUSH_USER
count() { [ -f "$log" ] && grep -c "$1" "$log" || echo 0; }

CPROF_PUSH_TOKEN=tok123 "$cprof" push -server "$srv" -app shop-api -labels env=ci,region=eu-1 \
  -tenant team-a "$@" 2>"$dir/err" || fail "push: $(cat "$dir/err")"
[ "$(count '"answer": 200')" = $# ] || fail "want $# accepted: $(cat "$log")"
[ "$(count '"auth": "Bearer tok123"')" = $# ] || fail "bearer token not sent"
[ "$(count '"tenant": "team-a"')" = $# ] || fail "X-Scope-OrgID not sent"
[ "$(count '"name": "shop-api.cpu{env=ci,region=eu-1}"')" -ge 1 ] || fail "name: $(cat "$log")"
# what arrived is each file, and decodes to the same report
i=0
for f in "$@"; do
  i=$((i + 1))
  r=$dir/spool/recv-$i.pb.gz
  cmp -s "$f" "$r" || fail "received $r differs from $f"
  [ "$("$cprof" top "$f")" = "$("$cprof" top "$r")" ] || fail "top of $r differs"
  if command -v go >/dev/null; then
    go tool pprof -raw "$r" >/dev/null 2>&1 || fail "go tool pprof cannot read $r"
  fi
done
# from/until: Unix seconds of time_nanos and time_nanos + duration_nanos
want=$(python3 - "$1" <<'PY'
import gzip, sys
b = gzip.decompress(open(sys.argv[1], 'rb').read())
def varint(b, i):
    v = s = 0
    while True:
        c = b[i]; i += 1; v |= (c & 0x7f) << s; s += 7
        if c < 128: return v, i
i, t, d = 0, 0, 0
while i < len(b):
    k, i = varint(b, i); f, w = k >> 3, k & 7
    if w == 0:
        v, i = varint(b, i)
        if f == 9: t = v
        if f == 10: d = v
    elif w == 2:
        n, i = varint(b, i); i += n
    elif w == 1: i += 8
    elif w == 5: i += 4
print('"from": "%d", "name"' % (t // 10**9), '"until": "%d"' % ((t + d) // 10**9))
PY
)
grep -q "$(echo "$want" | cut -d' ' -f1-3)" "$log" || fail "from is not time_nanos: want $want"
grep -q "$(echo "$want" | cut -d' ' -f4-5)" "$log" || fail "until is not time+duration: want $want"

# basic auth, from -user
: >"$log"
"$cprof" push -server "$srv" -user alice:s3cret "$1" 2>"$dir/err" || fail "basic: $(cat "$dir/err")"
[ "$(count '"auth": "Basic YWxpY2U6czNjcmV0"')" = 1 ] || fail "basic auth: $(cat "$log")"

# 5xx twice, then accepted: retried
: >"$log"
"$cprof" push -server "$srv" -app fail5xx "$1" 2>"$dir/err" || fail "5xx not retried: $(cat "$dir/err")"
[ "$(count '"answer": 503')" = 2 ] && [ "$(count '"answer": 200')" = 1 ] || fail "retries: $(cat "$log")"
grep -q "HTTP 503: try later; retrying" "$dir/err" || fail "no retry message"
# 4xx: one attempt, a clear error, exit 1
: >"$log"
"$cprof" push -server "$srv" -app fail4xx "$1" 2>"$dir/err"; rc=$?
[ $rc = 1 ] || fail "4xx gave exit $rc"
[ "$(count '"answer"')" = 1 ] || fail "4xx was retried: $(cat "$log")"
grep -q "$srv: HTTP 400: bad tenant config (not retried)" "$dir/err" || fail "4xx message: $(cat "$dir/err")"
# connection refused: retried, then a clear error
"$cprof" push -server http://127.0.0.1:1 -retries 1 "$1" 2>"$dir/err"; rc=$?
[ $rc = 1 ] && grep -q "gave up after 2 attempts" "$dir/err" || fail "refused: $rc $(cat "$dir/err")"

# -watch -delete: finished files go, temp files stay
: >"$log"
mkdir "$dir/w"
cp "$1" "$dir/w/cpu.pb.gz.tmp.4242"
"$cprof" push -server "$srv" -watch -delete -interval 0.2 "$dir/w" 2>"$dir/werr" & wp=$!
sleep 0.5
cp "$1" "$dir/w/.partial" && mv "$dir/w/.partial" "$dir/w/cpu.1.pb.gz"
cp "$1" "$dir/w/.partial" && mv "$dir/w/.partial" "$dir/w/cpu.2.pb.gz"
n=0; while [ -f "$dir/w/cpu.1.pb.gz" -o -f "$dir/w/cpu.2.pb.gz" ] && [ $n -lt 300 ]; do sleep 0.1; n=$((n + 1)); done
kill -TERM $wp; wait $wp; rc=$?
[ $rc = 0 ] || fail "-watch exit $rc: $(cat "$dir/werr")"
[ ! -f "$dir/w/cpu.1.pb.gz" ] && [ ! -f "$dir/w/cpu.2.pb.gz" ] || fail "-delete kept files"
[ -f "$dir/w/cpu.pb.gz.tmp.4242" ] || fail "a temp file was taken"
[ "$(count '"answer": 200')" = 2 ] || fail "-watch sent $(count '"answer": 200'), want 2"

# usage errors: exit 2
"$cprof" push "$1" 2>/dev/null; [ $? = 2 ] || fail "no -server: want 2"
"$cprof" push -server "$srv" -labels 'a=b,{' "$1" 2>/dev/null; [ $? = 2 ] || fail "bad labels: want 2"
"$cprof" push -server ftp://x "$1" 2>/dev/null; [ $? = 2 ] || fail "ftp server: want 2"
echo "push: ok"
