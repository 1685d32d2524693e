#!/bin/sh
# fetch.sh CPROF NETSRV PROFILE [LIBCPROF] — profile URLs through libcurl against a
# loopback server: 200, the default path and -seconds, 404, 401 with and
# without CPROF_HTTP_TOKEN, redirects (and a loop), the total timeout, a
# truncated body, a body that is no profile, a gzip bomb and an oversized
# body; every error names the URL and what went wrong.
set -u
cprof=$1 netsrv=$2 prof=$3
# the profiled process never links libcurl (nor TLS): only the command does
if [ -n "${4:-}" ]; then
  readelf -d "$4" | grep -Eq "NEEDED.*(curl|ssl)" && { echo "FAIL: $4 links libcurl or TLS"; exit 1; }
  readelf -d "$cprof" | grep -q "NEEDED.*libcurl" || { echo "FAIL: cprof does not link libcurl"; exit 1; }
fi
dir=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill $pid; rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
python3 "$netsrv" "$dir/port" "$prof" "$dir" & pid=$!
n=0; while [ ! -f "$dir/port" ] && [ $n -lt 300 ]; do sleep 0.1; n=$((n + 1)); done
[ -f "$dir/port" ] || fail "server did not start"
base=http://127.0.0.1:$(cat "$dir/port")
unset CPROF_HTTP_TOKEN

want=$("$cprof" top "$prof") || fail "top of the file"
got=$("$cprof" top "$base/ok" 2>"$dir/err") || fail "200: $(cat "$dir/err")"
[ "$got" = "$want" ] || fail "top over http differs from top of the file"

# an empty path is the CPU profile; -seconds adds seconds=N
"$cprof" top -seconds=2 "$base" >/dev/null 2>"$dir/err" || fail "default path: $(cat "$dir/err")"
grep -qx '/debug/pprof/profile?seconds=2' "$dir/get.log" || fail "no seconds=2 request: $(cat "$dir/get.log")"
grep -q "Fetching profile over HTTP" "$dir/err" || fail "no 'Fetching profile' line"

expect() { # expect RC PATTERN cprof-args...  (stderr must match PATTERN)
  rc=$1 pat=$2; shift 2
  "$cprof" "$@" >/dev/null 2>"$dir/err"; got=$?
  [ $got = "$rc" ] || fail "$*: exit $got, want $rc ($(cat "$dir/err"))"
  grep -Eq "$pat" "$dir/err" || fail "$*: stderr lacks /$pat/: $(cat "$dir/err")"
}
expect 1 "$base/missing: server response: HTTP 404: no such profile" top "$base/missing"
expect 1 "$base/auth: server response: HTTP 401 \(set CPROF_HTTP_TOKEN\)" top "$base/auth"
CPROF_HTTP_TOKEN=wrong expect 1 "HTTP 401 \(CPROF_HTTP_TOKEN was refused\)" top "$base/auth"
got=$(CPROF_HTTP_TOKEN=sekrit-token "$cprof" top "$base/auth" 2>"$dir/err") || fail "token: $(cat "$dir/err")"
[ "$got" = "$want" ] || fail "top with the token differs"
got=$("$cprof" top "$base/redirect" 2>"$dir/err") || fail "redirect: $(cat "$dir/err")"
[ "$got" = "$want" ] || fail "top through a redirect differs"
expect 1 "$base/redirect-loop: .*[Rr]edirect" top "$base/redirect-loop"
t0=$(date +%s)
expect 1 "$base/slow\?sleep=5: timed out after 1 s" top -timeout=1 "$base/slow?sleep=5"
# behaviour, not speed: the 1 s timeout was applied, not the 60 s default
[ $(( $(date +%s) - t0 )) -le 30 ] || fail "-timeout=1 was not applied"
# seconds=N in the URL makes the default timeout longer than N (60 s floor):
# a 2 s answer to a seconds=2 request arrives
"$cprof" top "$base/slow?sleep=2&seconds=2" >/dev/null 2>"$dir/err" || fail "seconds=2 URL timed out: $(cat "$dir/err")"
expect 1 "$base/truncated: .*(transfer closed|[Pp]artial)" top "$base/truncated"
expect 1 "$base/text" top "$base/text"
t0=$(date +%s)
expect 1 "$base/bomb: .*(exceeds the limit of 268435456|too large|limit)" top "$base/bomb"
echo "fetch: gzip bomb refused at the 256 MiB cap after $(( $(date +%s) - t0 )) s (wall, loaded machine)"
expect 1 "$base/big\?mb=300: response larger than 268435456 bytes" top "$base/big?mb=300"
expect 1 "http://127.0.0.1:1/x: .*(onnect|refused)" top "http://127.0.0.1:1/x"

# https: TLS is spoken, and a certificate nobody vouches for is refused
if command -v openssl >/dev/null; then
  openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -days 1 \
    -keyout "$dir/key.pem" -out "$dir/cert.pem" >/dev/null 2>&1 || fail "openssl req"
  NETSRV_TLS="$dir/cert.pem:$dir/key.pem" python3 "$netsrv" "$dir/tport" "$prof" "$dir" & tpid=$!
  n=0; while [ ! -f "$dir/tport" ] && [ $n -lt 300 ]; do sleep 0.1; n=$((n + 1)); done
  turl=https://127.0.0.1:$(cat "$dir/tport")/ok
  "$cprof" top "$turl" >/dev/null 2>"$dir/err"; rc=$?
  kill $tpid
  [ $rc = 1 ] || fail "self-signed https: exit $rc"
  grep -Eq "$turl: .*(certificate|SSL)" "$dir/err" || fail "https error: $(cat "$dir/err")"
fi
echo "fetch: ok"
