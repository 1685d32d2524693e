#!/bin/sh
# redis.sh CPROF — Debian's redis-server (built on jemalloc) under
# `cprof record --cpu --heap`, driven by redis-benchmark on a loopback port
# with a bounded request count: every request completes, the server shuts
# down with status 0 (record passes it through), and both merged profiles
# hold the server's own work under its own names (zmalloc: the heap
# profile's sampled blocks came through jemalloc's interposed malloc).
set -eu
cprof=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
for p in redis-server redis-benchmark redis-cli; do
    command -v "$p" >/dev/null 2>&1 || { echo "SKIP: $p is not installed"; exit 77; }
done
dir=$(mktemp -d)
trap 'redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; sed 's/^/  record: /' "$dir/rec.err" 2>/dev/null | head -20; exit 1; }
cd "$dir"
# A port of our own: the first of a few that nothing listens on.
port=
for p in 16379 17379 18379 19379 26379; do
    if ! redis-cli -p "$p" ping >/dev/null 2>&1; then port=$p; break; fi
done
[ -n "$port" ] || fail "no free port"
"$cprof" record --cpu=cpu.pb.gz --heap=heap.pb.gz -- redis-server --save '' --appendonly no \
    --port "$port" --bind 127.0.0.1 --loglevel warning >rec.out 2>rec.err &
rec=$!
up=
for i in $(seq 100); do
    redis-cli -p "$port" ping >/dev/null 2>&1 && { up=yes; break; }
    sleep 0.1
done
[ -n "$up" ] || fail "redis-server did not answer under record"
redis-benchmark -p "$port" -q -n 40000 -t set,get,lpush -P 16 >bench.out 2>&1 || fail "redis-benchmark failed"
n=$(redis-cli -p "$port" info commandstats | tr -d '\r' |
    sed -n 's/^cmdstat_\(set\|get\|lpush\):calls=\([0-9]*\),.*/\2/p' | paste -sd+ | sed 's/+/ + /g')
total=$(( $n ))
[ "$total" -ge 120000 ] || fail "the server saw $total of 120000 requests"
redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
st=0; wait "$rec" || st=$?
[ "$st" = 0 ] || fail "record exited $st (the server's status, passed through)"
grep -q '^cprof: cpu.pb.gz: .* in 1 process' rec.err || fail "no CPU summary line"
"$cprof" top -nodecount=40 cpu.pb.gz >cpu.top 2>&1 || fail "cprof top of the CPU profile"
grep -Eq ' (processCommand|call|readQueryFromClient|zmalloc|zfree|aeProcessEvents|_?_?libc_(read|write))$' cpu.top ||
    { cat cpu.top; fail "the CPU profile does not name redis's own functions"; }
"$cprof" top -nodecount=20 -sample_index=alloc_space heap.pb.gz >heap.top 2>&1 || fail "cprof top of the heap profile"
grep -q ' zmalloc' heap.top || { cat heap.top; fail "the heap profile has no allocation from zmalloc"; }
"$cprof" tags -tagfocus=comm=redis-server cpu.pb.gz >tags.txt 2>&1 || fail "cprof tags"
grep -q 'redis-server' tags.txt || { cat tags.txt; fail "samples not labelled comm=redis-server"; }
echo "redis under record: $total requests served, CPU and heap profiles name redis's code"
