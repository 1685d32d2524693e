#!/bin/sh
# run.sh CASE — /debug/pprof end to end, with curl and go tool pprof as the
# clients, on loopback.  Cases:
#   e2e      Go's paths read by go tool pprof and curl: heap, allocs,
#            profile?seconds=2, deltas (in-use kept true), debug=1, symbol,
#            index, godeltaprof paths, cprof top URL
#   hostile  unknown paths, bad parameters, huge headers, wrong Host, bad
#            methods, concurrent CPU profiles, dropped clients, many
#            connections at once; the program's output and status unchanged
#   example  examples/http_service under load: CPU and heap samples carry
#            route=PATH labels, -tagfocus selects a route's own code
#   secure   token (401/200), non-loopback refused without a token, unix
#            socket mode 0600, the public API (linked), TLS when openssl is here
# Environment: LIBCPROF, TARGET, API, CPROF, SERVICE (set by meson.build).
set -u
case_=$1
fail=0
tmp=$(mktemp -d)
pids=""
cleanup() {
  for p in $pids; do kill "$p" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT

say() { echo "$*"; }
bad() { echo "FAIL: $*"; fail=1; }
ok() { echo "ok: $*"; }

# code URL [curl args...] — the status (000 when no HTTP answer)
code() { u=$1; shift; curl -s -o /dev/null -w '%{http_code}' --max-time 20 "$@" "$u"; }
expect() { # expect WANT WHAT URL [curl args]
  want=$1; what=$2; shift 2
  got=$(code "$@")
  if [ "$got" = "$want" ]; then ok "$what -> $got"; else bad "$what: want $want, got $got"; fi
}

# start NAME [VAR=VALUE...] — the target under LD_PRELOAD with CPROF_HTTP
# set by the caller; waits for the address file; sets $addr.
start() {
  name=$1; shift
  rm -f "$tmp/$name.addr" "$tmp/$name.stop"
  env "$@" CPROF_HTTP_ADDR_FILE="$tmp/$name.addr" LD_PRELOAD="$LIBCPROF" \
    "$TARGET" "$tmp/$name.stop" >"$tmp/$name.out" 2>"$tmp/$name.err" &
  eval "pid_$name=$!"
  pids="$pids $!"
  i=0
  while [ ! -s "$tmp/$name.addr" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
  addr=$(cat "$tmp/$name.addr" 2>/dev/null)
}

# finish NAME — stop the target; its output and status must be as without cprof
finish() {
  name=$1
  touch "$tmp/$name.stop"
  eval "p=\$pid_$name"
  wait "$p"
  st=$?
  printf 'started\nlive blocks checksum 32640\n' >"$tmp/want.out"
  if [ "$st" = 3 ] && cmp -s "$tmp/$name.out" "$tmp/want.out"; then
    ok "$name: program output and exit status unchanged"
  else
    bad "$name: status $st, output:"; cat "$tmp/$name.out"
  fi
  if [ -s "$tmp/$name.err" ] && [ "${2:-}" != keep_stderr ]; then
    bad "$name: stderr not empty:"; cat "$tmp/$name.err"
  fi
}

raw() { go tool pprof -raw "$@" 2>"$tmp/pprof.err"; }

case "$case_" in
e2e)
  # rate 64 KiB: each 64 KiB live block is sampled with p = 1 - 1/e, so the
  # 16 MiB estimate has a 4.8% standard deviation; the bounds below are 4 of them
  start a CPROF_HTTP=127.0.0.1:0 CPROF_HEAP_RATE=65536
  [ -n "$addr" ] || { bad "server did not start"; cat "$tmp/a.err"; exit 1; }
  U=http://$addr/debug/pprof
  # the index
  curl -s -D "$tmp/h" -o "$tmp/index.html" "$U/"
  grep -qi '^Content-Type: text/html' "$tmp/h" && grep -qi '^X-Content-Type-Options: nosniff' "$tmp/h" &&
    grep -q 'href="heap?debug=1"' "$tmp/index.html" && grep -q 'delta_heap' "$tmp/index.html" &&
    ok "index: html, nosniff, links" || bad "index"
  # heap: go tool pprof reads it over HTTP; the live blocks are in use
  raw "$U/heap" >"$tmp/heap.raw" || { bad "go tool pprof heap"; cat "$tmp/pprof.err"; }
  go tool pprof -sample_index=inuse_space -top "$U/heap" >"$tmp/heap.top" 2>/dev/null
  inuse=$(awk '/^Showing nodes/{for(i=1;i<=NF;i++) if($i=="total") print $(i-1)}' "$tmp/heap.top")
  case "$inuse" in
    *MB) v=${inuse%MB}; if awk "BEGIN{exit !($v >= 12.9 && $v <= 20.1)}"; then ok "heap inuse_space $inuse (16 MB live)"; else bad "heap inuse $inuse, want ~16MB"; fi ;;
    *) bad "heap inuse total: '$inuse'"; cat "$tmp/heap.top" ;;
  esac
  grep -q 'main' "$tmp/heap.raw" && ok "heap stacks named" || bad "heap stacks lack main"
  curl -s -D "$tmp/h" -o "$tmp/heap.pb.gz" "$U/heap"
  grep -qi 'Content-Disposition: attachment; filename="heap"' "$tmp/h" &&
    grep -qi '^Content-Type: application/octet-stream' "$tmp/h" && ok "heap headers as Go's" || bad "heap headers"
  # allocs: the same profile with alloc_space shown by default
  raw "$U/allocs" | grep -q 'alloc_space/bytes\[dflt\]' && ok "allocs defaults to alloc_space" || bad "allocs default type"
  # CPU: go tool pprof with seconds=2, burn_cpu on top
  go tool pprof -top "$U/profile?seconds=2" >"$tmp/cpu.top" 2>"$tmp/pprof.err"
  grep -q 'burn_cpu' "$tmp/cpu.top" && ok "profile?seconds=2: burn_cpu sampled" || { bad "cpu profile"; cat "$tmp/cpu.top" "$tmp/pprof.err"; }
  # -top's header says "Duration: 1s," or "Duration: 999.43ms,"
  dur=$(go tool pprof -top "$U/profile?seconds=1" 2>/dev/null |
    sed -n 's/^Duration: \([0-9.]*\)\(m*\)s,.*/\1 \2/p' | awk '{print ($2 == "m") ? $1 / 1000 : $1}')
  awk "BEGIN{exit !($dur >= 0.9 && $dur <= 1.5)}" && ok "profile?seconds=1 lasted $dur s" || bad "cpu duration $dur"
  # heap?seconds=1: allocations of that second only, in-use still the live 16 MB
  go tool pprof -sample_index=inuse_space -top "$U/heap?seconds=1" >"$tmp/dh.top" 2>/dev/null
  dinuse=$(awk '/^Showing nodes/{for(i=1;i<=NF;i++) if($i=="total") print $(i-1)}' "$tmp/dh.top")
  [ "$dinuse" = "$inuse" ] && ok "heap?seconds=1 keeps in-use true ($dinuse)" || bad "delta in-use $dinuse vs $inuse"
  raw "$U/heap?seconds=1" | grep -q '^Duration: 1' && ok "heap delta duration 1s" || bad "heap delta duration"
  # godeltaprof: the second delta_heap holds only what was allocated since the first
  raw "$U/delta_heap" >/dev/null
  a1=$(go tool pprof -sample_index=alloc_space -top "$U/heap" 2>/dev/null | awk '/^Showing nodes/{for(i=1;i<=NF;i++) if($i=="total") print $(i-1)}')
  a2=$(go tool pprof -sample_index=alloc_space -top "$U/delta_heap" 2>/dev/null | awk '/^Showing nodes/{for(i=1;i<=NF;i++) if($i=="total") print $(i-1)}')
  [ -n "$a2" ] && [ "$a2" != "$a1" ] && ok "delta_heap alloc_space $a2 < cumulative $a1" || bad "delta_heap $a2 vs $a1"
  for p in mutex block delta_mutex delta_block threads goroutine threadcreate io; do
    raw "$U/$p" >"$tmp/$p.raw" && grep -q '^Samples:' "$tmp/$p.raw" && ok "$p opens in go tool pprof" || { bad "$p"; cat "$tmp/pprof.err"; }
  done
  raw "$U/mutex" | grep -q 'contentions/count delay/nanoseconds' && ok "mutex sample types" || bad "mutex types"
  # debug=1 text forms
  curl -s "$U/heap?debug=1" | head -1 | grep -q '^heap profile: [0-9]*: [0-9]* \[[0-9]*: [0-9]*\] @ heap/131072$' &&
    ok "heap?debug=1 header as Go's" || bad "heap?debug=1"
  curl -s "$U/mutex?debug=1" | grep -q '^--- mutex:' && ok "mutex?debug=1" || bad "mutex?debug=1"
  # symbol: GET and POST as Go's
  [ "$(curl -s "$U/symbol")" = "num_symbols: 1" ] && ok "symbol GET" || bad "symbol GET"
  a=$(awk '/^Locations/{f=1;next} f&&/malloc/{print $2; exit}' "$tmp/heap.raw")
  if [ -n "$a" ]; then
    curl -s --data-binary "$a+0x0" "$U/symbol" | grep -q "^$a .*malloc" && ok "symbol POST $a" || bad "symbol POST $a"
  fi
  # cprof's own reader
  "$CPROF" top "$U/heap" >"$tmp/cprof.top" 2>&1 && grep -q 'flat%' "$tmp/cprof.top" && ok "cprof top URL" ||
    { bad "cprof top URL"; cat "$tmp/cprof.top"; }
  finish a
  ;;
hostile)
  start h CPROF_HTTP=127.0.0.1:0
  [ -n "$addr" ] || { bad "server did not start"; cat "$tmp/h.err"; exit 1; }
  U=http://$addr/debug/pprof
  curl -s -D "$tmp/h" -o "$tmp/b" "$U/nope"
  head -1 "$tmp/h" | grep -q ' 404' && grep -qi '^X-Content-Type-Options: nosniff' "$tmp/h" &&
    ok "unknown profile: 404 with nosniff" || bad "unknown profile"
  expect 404 "path outside /debug/pprof" "http://$addr/etc/passwd"
  curl -s -D "$tmp/h" -o /dev/null "http://$addr/debug/pprof"
  head -1 "$tmp/h" | grep -q ' 301' && grep -qi '^Location: /debug/pprof/' "$tmp/h" &&
    ok "/debug/pprof redirects to /debug/pprof/" || bad "no redirect for /debug/pprof"
  raw "$U/heap" | grep -q '^Period: 524288$' && ok "CPROF_HTTP alone: heap sampled at the default rate" ||
    bad "heap not on at the default rate"
  curl -s -o "$tmp/b" "$U/%3Cscript%3Ealert(1)%3C/script%3E?debug=%3Cb%3E"
  grep -qi 'script\|alert\|<b>' "$tmp/b" && bad "error echoes input" || ok "errors never echo input"
  expect 400 "seconds=abc" "$U/profile?seconds=abc"
  expect 400 "seconds=0" "$U/profile?seconds=0"
  expect 400 "seconds=-5" "$U/heap?seconds=-5"
  expect 400 "seconds=301 (cap 300)" "$U/profile?seconds=301"
  expect 400 "seconds=99999999999999999999" "$U/profile?seconds=99999999999999999999"
  expect 400 "debug=x" "$U/heap?debug=x"
  expect 400 "seconds with debug" "$U/heap?seconds=1&debug=1"
  expect 400 "seconds on a non-delta path" "$U/delta_heap?seconds=1"
  expect 405 "PUT" "$U/heap" -X PUT
  expect 403 "foreign Host (DNS rebinding)" "$U/heap" -H "Host: attacker.example:80"
  expect 403 "foreign Host, no port" "$U/" -H "Host: evil"
  expect 200 "Host localhost" "$U/" -H "Host: localhost:1234"
  big=$(head -c 70000 /dev/zero | tr '\0' a)
  got=$(code "$U/heap" -H "X-Big: $big")
  case "$got" in 4??) ok "huge header -> $got" ;; *) bad "huge header: $got" ;; esac
  got=$(head -c 200000 /dev/zero | tr '\0' 1 | curl -s -o /dev/null -w '%{http_code}' --data-binary @- "$U/symbol")
  case "$got" in 4??) ok "huge POST body -> $got" ;; *) bad "huge POST body: $got" ;; esac
  # two CPU profiles at once: the second is refused, the first completes
  curl -s -o "$tmp/cpu1.pb.gz" -w '%{http_code}' "$U/profile?seconds=2" >"$tmp/c1" &
  c1=$!
  sleep 0.5
  expect 409 "second concurrent CPU profile" "$U/profile?seconds=1"
  wait $c1
  [ "$(cat "$tmp/c1")" = 200 ] && raw "$tmp/cpu1.pb.gz" >/dev/null && ok "first CPU profile completes" ||
    bad "first CPU profile: $(cat "$tmp/c1")"
  # a client that goes away stops its profile: the next one starts at once
  curl -s -o /dev/null --max-time 1 "$U/profile?seconds=60"
  sleep 0.5
  t0=$(date +%s)
  expect 200 "CPU profile right after a dropped 60 s one" "$U/profile?seconds=1"
  [ $(($(date +%s) - t0)) -le 5 ] && ok "dropped client's profile stopped" || bad "dropped profile kept running"
  curl -s -o /dev/null --max-time 1 "$U/heap?seconds=60"
  expect 200 "heap after a dropped delta" "$U/heap"
  # many connections at once: each gets an answer or is turned away, and
  # the server still answers afterwards
  i=0
  many=""
  while [ $i -lt 64 ]; do
    curl -s -o /dev/null -w '%{http_code}\n' --max-time 20 "$U/" >"$tmp/many.$i" &
    many="$many $!"
    i=$((i + 1))
  done
  for j in $many; do wait "$j"; done
  cat "$tmp"/many.* >"$tmp/many"
  n200=$(grep -c '^200$' "$tmp/many")
  nbad=$(grep -vc '^200$\|^429$\|^503$\|^000$' "$tmp/many")
  [ "$n200" -ge 1 ] && [ "$nbad" = 0 ] && ok "64 connections at once: $n200 answered 200, the rest turned away" ||
    { bad "many connections"; sort "$tmp/many" | uniq -c; }
  sort "$tmp/many" | uniq -c
  # half-open connections that never send a request
  for i in 1 2 3 4 5 6 7 8; do (exec 3<>/dev/tcp/${addr%:*}/${addr#*:} && sleep 3) 2>/dev/null & done
  sleep 0.3
  expect 200 "answers while idle connections hang" "$U/"
  expect 200 "still serving" "$U/heap"
  finish h
  # the program's own CPU profile runs: the request is refused, the
  # program's profile is untouched and written at exit
  start c CPROF_HTTP=127.0.0.1:0 CPROF_CPU="$tmp/own.pb.gz"
  expect 409 "CPU profile while the program's own runs" "http://$addr/debug/pprof/profile?seconds=1"
  expect 200 "heap meanwhile" "http://$addr/debug/pprof/heap"
  sleep 0.5
  finish c
  go tool pprof -top "$tmp/own.pb.gz" 2>/dev/null | grep -q burn_cpu && ok "the program's own CPU profile kept running" ||
    bad "program's CPU profile lost"
  ;;
example)
  CPROF_HTTP=127.0.0.1:0 CPROF_MUTEX_FRACTION=1 CPROF_HTTP_ADDR_FILE="$tmp/x.addr" "$SERVICE" 0 >"$tmp/x.out" 2>"$tmp/x.err" &
  sp=$!
  pids="$pids $sp"
  i=0
  while { [ ! -s "$tmp/x.addr" ] || ! grep -q listening "$tmp/x.out"; } && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
  port=$(sed -n 's/.*listening on 127.0.0.1://p' "$tmp/x.out")
  U=http://$(cat "$tmp/x.addr")/debug/pprof
  # load: one curl process looping over the routes for about 4 s
  curl -s -o /dev/null -o /dev/null -o /dev/null "http://127.0.0.1:$port/slow?[1-60]" \
    "http://127.0.0.1:$port/alloc?[1-60]" "http://127.0.0.1:$port/fast?[1-60]" &
  lp=$!
  curl -s -o "$tmp/x.pb.gz" "$U/profile?seconds=2"
  go tool pprof -raw "$tmp/x.pb.gz" >"$tmp/x.raw" 2>"$tmp/pprof.err"
  go tool pprof -top -tagfocus=route=/slow "$tmp/x.pb.gz" >"$tmp/x.top" 2>&1
  wait $lp
  grep -q 'route:\[/slow\]' "$tmp/x.raw" && ok "CPU samples labelled route=/slow" || { bad "no route label on CPU samples"; head -30 "$tmp/x.raw"; }
  grep -q 'slow_math' "$tmp/x.top" && ok "-tagfocus=route=/slow shows slow_math" || { bad "tagfocus"; cat "$tmp/x.top"; }
  # CPROF_MUTEX_FRACTION alone turns the mutex profile on under CPROF_HTTP
  lk=""
  for i in 1 2 3 4 5 6; do curl -s -o /dev/null "http://127.0.0.1:$port/lock?[1-8]" & lk="$lk $!"; done
  for j in $lk; do wait "$j"; done
  go tool pprof -raw "$U/mutex" >"$tmp/x.mutex" 2>&1
  grep -q 'route:\[/lock\]' "$tmp/x.mutex" && ok "mutex samples labelled route=/lock" || { bad "mutex profile"; head -20 "$tmp/x.mutex"; }
  "$CPROF" tags "$U/allocs" >"$tmp/x.tags" 2>&1
  grep -q '/alloc' "$tmp/x.tags" && ok "heap samples labelled route=/alloc" || { bad "heap route label"; cat "$tmp/x.tags"; }
  kill -INT $sp
  wait $sp
  [ $? = 0 ] && grep -q stopped "$tmp/x.out" && ok "service stopped cleanly" || bad "service exit"
  ;;
secure)
  start t CPROF_HTTP=127.0.0.1:0 CPROF_HTTP_TOKEN=s3cret-token
  U=http://$addr/debug/pprof
  curl -s -D "$tmp/h" -o /dev/null "$U/heap"
  head -1 "$tmp/h" | grep -q ' 401' && grep -qi '^WWW-Authenticate: Bearer' "$tmp/h" &&
    grep -qi nosniff "$tmp/h" && ok "no token: 401 with WWW-Authenticate" || bad "no token"
  expect 401 "wrong token" "$U/heap" -H "Authorization: Bearer s3cret-tokeX"
  expect 401 "token prefix" "$U/heap" -H "Authorization: Bearer s3cret"
  expect 401 "basic auth" "$U/heap" -u user:s3cret-token
  expect 200 "right token" "$U/heap" -H "Authorization: Bearer s3cret-token"
  finish t
  # a non-loopback address without a token: refused at start, program unharmed
  start n CPROF_HTTP=0.0.0.0:0
  [ -z "$addr" ] && grep -q 'CPROF_HTTP_TOKEN' "$tmp/n.err" && [ "$(wc -l <"$tmp/n.err")" = 1 ] &&
    ok "0.0.0.0 without a token refused: $(cat "$tmp/n.err")" || { bad "non-loopback without token"; cat "$tmp/n.err"; }
  finish n keep_stderr
  start w CPROF_HTTP=0.0.0.0:0 CPROF_HTTP_TOKEN=tok
  port=${addr##*:}
  expect 200 "0.0.0.0 with a token" "http://127.0.0.1:$port/debug/pprof/" -H "Authorization: Bearer tok" -H "Host: myhost.example"
  finish w
  # unix socket: mode 0600
  start u CPROF_HTTP=unix:$tmp/pprof.sock
  mode=$(stat -c %a "$tmp/pprof.sock")
  [ "$mode" = 600 ] && ok "unix socket mode 0600" || bad "unix socket mode $mode"
  expect 200 "heap over the unix socket" "http://localhost/debug/pprof/heap" --unix-socket "$tmp/pprof.sock"
  expect 200 "any Host over a unix socket" "http://whatever/debug/pprof/" --unix-socket "$tmp/pprof.sock"
  finish u
  # the public API, linked with -lcprof
  "$API" "$tmp/api.sock" "$tmp/api.stop" >"$tmp/api.out" 2>"$tmp/api.err" &
  ap=$!
  i=0
  while [ ! -S "$tmp/api.sock" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
  expect 200 "API-started server" "http://localhost/debug/pprof/" --unix-socket "$tmp/api.sock"
  touch "$tmp/api.stop"
  wait $ap
  cat >"$tmp/api.want" <<EOF
non-loopback without token: invalid argument
port before start: -1
start: 0
second start: profiler already running
port: 0
stop: 0
port after stop: -1
socket removed: yes
start again: 0
stop again: 0
stop when stopped: profiler not running
EOF
  cmp -s "$tmp/api.out" "$tmp/api.want" && ok "API calls return as documented" || { bad "API"; diff "$tmp/api.want" "$tmp/api.out"; }
  grep -q 'CPROF_HTTP_TOKEN' "$tmp/api.err" && ok "API refusal names CPROF_HTTP_TOKEN" || bad "API refusal message"
  # the server and its TLS libraries stay out of processes that do not serve
  if readelf -d "$LIBCPROF" | grep NEEDED | grep -q 'microhttpd\|gnutls'; then
    bad "libcprof.so links libmicrohttpd or gnutls"
  else
    ok "libcprof.so links neither libmicrohttpd nor gnutls"
  fi
  rm -f "$tmp/q.stop"
  LD_PRELOAD="$LIBCPROF" "$TARGET" "$tmp/q.stop" >/dev/null &
  qp=$!
  sleep 0.3
  grep -q 'libcprof-http\|gnutls\|microhttpd' /proc/$qp/maps && bad "module loaded without CPROF_HTTP" ||
    ok "without CPROF_HTTP neither the module nor gnutls is mapped"
  touch "$tmp/q.stop"
  wait $qp
  start m CPROF_HTTP=127.0.0.1:0
  eval "mp=\$pid_m"
  grep -q 'libcprof-http.so' /proc/$mp/maps && ok "CPROF_HTTP loads libcprof-http.so" || bad "module not mapped"
  finish m
  # TLS
  if command -v openssl >/dev/null 2>&1; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$tmp/key.pem" -out "$tmp/cert.pem" -days 1 \
      -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1
    start s CPROF_HTTP=127.0.0.1:0 CPROF_HTTP_TLS_CERT="$tmp/cert.pem" CPROF_HTTP_TLS_KEY="$tmp/key.pem"
    expect 200 "TLS heap" "https://$addr/debug/pprof/heap" --cacert "$tmp/cert.pem" -H "Host: localhost"
    got=$(code "http://$addr/debug/pprof/heap")
    [ "$got" != 200 ] && ok "plain http to the TLS port refused ($got)" || bad "plain http on TLS port"
    finish s
  else
    say "skip: TLS (no openssl)"
  fi
  ;;
*)
  echo "unknown case $case_"; exit 2 ;;
esac
exit $fail
