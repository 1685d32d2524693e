#!/bin/sh
# exitsafe.sh LIBCPROF — OpenSSL programs under the preload behave exactly
# as without it: node, openssl speed, curl, each 5 times under CPROF_HEAP
# (rate 1 and default) and CPROF_CPU (1000 Hz), same exit status, same
# stdout and stderr (openssl's measured numbers normalised).  At exit the
# profiler loads no library (LD_DEBUG=files: no libdebuginfod, nothing
# dlopen'ed by libcprof) and makes no connection even with DEBUGINFOD_URLS
# pointing at a loopback listener.
set -eu
LIB=$(readlink -f "$1")
T=$(mktemp -d /tmp/cprof-exitsafe.XXXXXX)
LISTENER=
cleanup() {
  [ -n "$LISTENER" ] && kill "$LISTENER" 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT
export HOME="$T" LC_ALL=C TZ=UTC
unset DEBUGINFOD_URLS
fail() { echo "FAIL: $*" >&2; exit 1; }
RUNS=${EXITSAFE_RUNS:-5}

printf 'cprof-exitsafe\n' >"$T/hostname.txt"
# name|command (run with sh -c); openssl speed's full form (6 block sizes,
# 6 s) once per mode, a one-size form for the other runs.
cat >"$T/programs" <<EOP
node|node -e 'console.log(1)'
openssl-speed|openssl speed -seconds 1 sha256
openssl-speed16|openssl speed -seconds 1 -bytes 16 sha256
curl|curl -s file://$T/hostname.txt
EOP
have() { command -v "$1" >/dev/null 2>&1; }

normalise() { sed -E 's/[0-9]+(\.[0-9]+)?k?/N/g; s/ +/ /g' "$1"; }

# run NAME MODE I CMD: one run, its status and normalised output kept.
run() {
  name=$1 mode=$2 i=$3 cmd=$4
  o="$T/$name.$mode.$i"
  set +e
  case $mode in
    plain) timeout 120 sh -c "$cmd" >"$o.out" 2>"$o.err" ;;
    heap1) CPROF_HEAP="$T/prof/h1.%p.pb.gz" CPROF_HEAP_RATE=1 LD_PRELOAD="$LIB" \
             timeout 120 sh -c "$cmd" >"$o.out" 2>"$o.err" ;;
    heap) CPROF_HEAP="$T/prof/h.%p.pb.gz" LD_PRELOAD="$LIB" \
             timeout 120 sh -c "$cmd" >"$o.out" 2>"$o.err" ;;
    cpu) CPROF_CPU="$T/prof/c.%p.pb.gz" CPROF_CPU_HZ=1000 LD_PRELOAD="$LIB" \
             timeout 120 sh -c "$cmd" >"$o.out" 2>"$o.err" ;;
  esac
  echo $? >"$o.status"
  set -e
  normalise "$o.out" >"$o.nout"
  normalise "$o.err" >"$o.nerr"
}

same_as_plain() {
  name=$1 mode=$2 i=$3
  p="$T/$name.plain.1" o="$T/$name.$mode.$i"
  [ "$(cat "$o.status")" = "$(cat "$p.status")" ] ||
    fail "$name under $mode (run $i): exit $(cat "$o.status"), plain $(cat "$p.status"); stderr: $(head -c 500 "$o.err")"
  cmp -s "$o.nout" "$p.nout" || { diff "$p.nout" "$o.nout" | head -20; fail "$name under $mode (run $i): stdout differs"; }
  cmp -s "$o.nerr" "$p.nerr" || { diff "$p.nerr" "$o.nerr" | head -20; fail "$name under $mode (run $i): stderr differs"; }
}

mkdir -p "$T/prof"
while IFS='|' read -r name cmd; do
  have "${cmd%% *}" || { echo "skip $name: ${cmd%% *} not installed"; continue; }
  run "$name" plain 1 "$cmd"
  [ "$(cat "$T/$name.plain.1.status")" = 0 ] || fail "$name fails even without cprof"
  case $name in
    openssl-speed*) grep -q '^sha256 ' "$T/$name.plain.1.out" || fail "$name: no result line" ;;
  esac
  for mode in heap1 heap cpu; do
    n=$RUNS
    [ "$name" = openssl-speed ] && n=1
    [ "$name" = openssl-speed16 ] && n=$((RUNS - 1))
    i=1
    while [ $i -le $n ]; do
      run "$name" "$mode" $i "$cmd"
      same_as_plain "$name" "$mode" $i
      i=$((i + 1))
    done
    echo "$name under $mode: $n of $n runs as without cprof (exit $(cat "$T/$name.plain.1.status"))"
  done
done <"$T/programs"
ls "$T/prof" | grep -q . || fail "no profile was written at all"
for kind in h1 h c; do
  ls "$T/prof" | grep -q "^$kind\." || fail "no $kind profile written"
done

# Nothing loaded at exit: LD_DEBUG=files lists every library a process loads.
while IFS='|' read -r name cmd; do
  have "${cmd%% *}" || continue
  [ "$name" = openssl-speed ] && continue
  for mode in heap1 cpu; do
    rm -f "$T"/ld.*
    case $mode in
      heap1) env CPROF_HEAP="$T/prof/x.%p.pb.gz" CPROF_HEAP_RATE=1 LD_PRELOAD="$LIB" \
               LD_DEBUG=files LD_DEBUG_OUTPUT="$T/ld" timeout 120 sh -c "$cmd" >/dev/null 2>&1 || true ;;
      cpu) env CPROF_CPU="$T/prof/x.%p.pb.gz" CPROF_CPU_HZ=1000 LD_PRELOAD="$LIB" \
             LD_DEBUG=files LD_DEBUG_OUTPUT="$T/ld" timeout 120 sh -c "$cmd" >/dev/null 2>&1 || true ;;
    esac
    ls "$T"/ld.* >/dev/null 2>&1 || fail "LD_DEBUG wrote nothing for $name"
    grep -q "libcprof" "$T"/ld.* || fail "LD_DEBUG does not show libcprof for $name"
    if grep -l "debuginfod" "$T"/ld.* >/dev/null 2>&1; then
      fail "$name under $mode loaded libdebuginfod: $(grep -h debuginfod "$T"/ld.* | head -3)"
    fi
    if grep -h "dynamically loaded by .*libcprof" "$T"/ld.* >/dev/null 2>&1; then
      fail "$name under $mode: libcprof dlopen'ed $(grep -h "dynamically loaded by .*libcprof" "$T"/ld.* | head -3)"
    fi
  done
  echo "$name: no library loaded by cprof, no libdebuginfod"
done <"$T/programs"

# No connection at exit, even with DEBUGINFOD_URLS set: a loopback listener
# counts connections (and must count curl's, to show it listens).
python3 - "$T/port" "$T/conns" <<'EOP' &
import socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(16)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
import os
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
n = 0
while True:
    c, _ = s.accept()
    n += 1
    open(sys.argv[2], "w").write(str(n))
    c.close()
EOP
LISTENER=$!
i=0
while [ ! -s "$T/port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -s "$T/port" ] || fail "listener did not start"
PORT=$(cat "$T/port")
curl -s -m 5 "http://127.0.0.1:$PORT/buildid/x/debuginfo" >/dev/null 2>&1 || true
i=0
while [ "$(cat "$T/conns" 2>/dev/null)" != 1 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
[ "$(cat "$T/conns" 2>/dev/null)" = 1 ] || fail "the listener does not count connections"
export DEBUGINFOD_URLS="http://127.0.0.1:$PORT"
while IFS='|' read -r name cmd; do
  have "${cmd%% *}" || continue
  [ "$name" = openssl-speed ] && continue
  for mode in heap1 cpu; do
    run "$name" "$mode" d "$cmd"
    same_as_plain "$name" "$mode" d
  done
done <"$T/programs"
sleep 0.3
[ "$(cat "$T/conns")" = 1 ] || fail "a profiled process connected to DEBUGINFOD_URLS ($(cat "$T/conns") connections)"
echo "DEBUGINFOD_URLS=$DEBUGINFOD_URLS: no connection"
echo "exit safety: ok"
