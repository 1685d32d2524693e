#!/bin/sh
# run.sh MODE — mutex and block profile integration tests (meson suite
# `locks`).  The environment names the binaries (see meson.build).  Exit 0
# on success, 77 (skipped) when a tool it needs is missing.
set -eu
mode=$1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cprof-locks.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# known PROGRAM: rate/fraction 1 figures against the program's own measure
known() {
    env CPROF_MUTEX="$tmp/mutex.pb.gz" CPROF_BLOCK="$tmp/block.pb.gz" \
        CPROF_BLOCK_RATE=1 "$@" >"$tmp/expected"
    cat "$tmp/expected"
    "$LOCKS_CHECK" compare "$tmp/mutex.pb.gz" mutex "$tmp/expected"
    "$LOCKS_CHECK" compare "$tmp/block.pb.gz" block "$tmp/expected"
    "$LOCKS_CHECK" label "$tmp/mutex.pb.gz" site_mutex_contended phase contend
}

# same_output NAME CMD...: stdout, stderr and status unchanged under both
# profiles; both profiles valid.
same_output() {
    name=$1; shift
    set +e
    "$@" >"$tmp/$name.plain" 2>"$tmp/$name.plain.err"; st1=$?
    env LD_PRELOAD="$LIBCPROF" CPROF_MUTEX="$tmp/$name.mutex.pb.gz" \
        CPROF_MUTEX_HOLDERS="$tmp/$name.holders.pb.gz" \
        CPROF_BLOCK="$tmp/$name.block.pb.gz" "$@" >"$tmp/$name.prof" 2>"$tmp/$name.prof.err"
    st2=$?
    set -e
    [ "$st1" = "$st2" ] || fail "$name: exit status $st1 plain, $st2 profiled"
    cmp -s "$tmp/$name.plain" "$tmp/$name.prof" || {
        diff "$tmp/$name.plain" "$tmp/$name.prof" | head; fail "$name: output differs"; }
    cmp -s "$tmp/$name.plain.err" "$tmp/$name.prof.err" || {
        diff "$tmp/$name.plain.err" "$tmp/$name.prof.err" | head; fail "$name: stderr differs"; }
    for k in mutex holders block; do
        "$LOCKS_CHECK" total "$tmp/$name.$k.pb.gz" >"$tmp/$name.$k.total" ||
            fail "$name: bad $k profile"
    done
    echo "$name: same output; mutex $(cat "$tmp/$name.mutex.total")," \
        "holders $(cat "$tmp/$name.holders.total"), block $(cat "$tmp/$name.block.total")"
}

case "$mode" in
known)
    known LD_PRELOAD="$LIBCPROF" "$LOCKS_KNOWN"
    ;;
linked)
    ldd "$LOCKS_KNOWN_LINKED" | grep -q libcprof || fail "not linked with libcprof"
    known "$LOCKS_KNOWN_LINKED"
    ;;
stress)
    same_output stress "$LOCKS_STRESS"
    # fork while locks are held: the child's files carry its pid
    env LD_PRELOAD="$LIBCPROF" CPROF_MUTEX="$tmp/f.%p.mutex.pb.gz" \
        CPROF_BLOCK="$tmp/f.%p.block.pb.gz" "$LOCKS_STRESS" fork >/dev/null
    n=$(ls "$tmp"/f.*.mutex.pb.gz | wc -l)
    [ "$n" -ge 2 ] || fail "fork: $n mutex profiles, want parent's and child's"
    for f in "$tmp"/f.*.pb.gz; do "$LOCKS_CHECK" total "$f" >/dev/null || fail "bad $f"; done
    echo "fork: $n mutex profiles, all valid"
    # a FIFO (like /dev/null or /dev/stdout) is written in place, not
    # replaced by a renamed regular file
    mkfifo "$tmp/fifo"
    cat "$tmp/fifo" >"$tmp/from_fifo" &
    env LD_PRELOAD="$LIBCPROF" CPROF_MUTEX="$tmp/fifo" "$LOCKS_STRESS" fork >/dev/null
    wait
    [ -p "$tmp/fifo" ] || fail "the FIFO was replaced by a file"
    "$LOCKS_CHECK" total "$tmp/from_fifo" >/dev/null || fail "no valid profile through the FIFO"
    echo "a FIFO as the profile path: written through, still a FIFO"
    ;;
pprof)
    command -v go >/dev/null || { echo "go not installed"; exit 77; }
    env LD_PRELOAD="$LIBCPROF" CPROF_MUTEX="$tmp/m.pb.gz" CPROF_BLOCK="$tmp/b.pb.gz" \
        CPROF_MUTEX_HOLDERS="$tmp/h.pb.gz" "$LOCKS_KNOWN" >/dev/null
    for f in m b h; do
        go tool pprof -raw "$tmp/$f.pb.gz" >"$tmp/$f.raw" 2>"$tmp/$f.err" ||
            { cat "$tmp/$f.err"; fail "go tool pprof cannot read the $f profile"; }
        grep -q "contentions/count delay/nanoseconds" "$tmp/$f.raw" ||
            fail "$f: sample types missing in go tool pprof -raw"
    done
    go tool pprof -top -sample_index=delay "$tmp/m.pb.gz" 2>/dev/null | grep -q site_mutex_contended ||
        fail "go tool pprof -top: no site_mutex_contended"
    go tool pprof -tags "$tmp/m.pb.gz" 2>/dev/null | grep -q contend ||
        fail "go tool pprof -tags: no phase label"
    grep -q contend "$tmp/h.raw" || fail "holders: the releases under phase=contend are missing"
    echo "go tool pprof reads the mutex, holders and block profiles"
    ;;
real)
    ran=0
    if command -v python3 >/dev/null; then
        cat >"$tmp/t.py" <<'PY'
import threading, queue
q = queue.Queue(4)
lock = threading.Lock()
total = [0]
def prod():
    for i in range(3000): q.put(i)
    q.put(None)
def cons():
    while True:
        x = q.get()
        if x is None: break
        with lock: total[0] += x
ts = [threading.Thread(target=prod), threading.Thread(target=cons)]
for t in ts: t.start()
for t in ts: t.join()
print(total[0])
PY
        same_output python python3 "$tmp/t.py"; ran=1
    fi
    if command -v sqlite3 >/dev/null; then
        same_output sqlite sqlite3 :memory: \
            "create table t(a); insert into t values(1),(2),(3); select sum(a) from t;"
        ran=1
    fi
    if command -v redis-server >/dev/null && command -v redis-cli >/dev/null; then
        # io-threads: its worker threads park on mutexes between batches
        port=""
        for p in 7461 7462 7463 7464; do
            redis-cli -p "$p" ping >/dev/null 2>&1 || { port=$p; break; }
        done
        [ -n "$port" ] || fail "no free port for redis"
        env LD_PRELOAD="$LIBCPROF" CPROF_MUTEX="$tmp/r.mutex.pb.gz" CPROF_BLOCK="$tmp/r.block.pb.gz" \
            CPROF_MUTEX_HOLDERS="$tmp/r.holders.pb.gz" redis-server --port "$port" --save '' \
            --appendonly no --io-threads 2 --io-threads-do-reads yes >"$tmp/redis.log" 2>&1 &
        up=""
        for i in $(seq 100); do
            redis-cli -p "$port" ping >/dev/null 2>&1 && { up=yes; break; }
            sleep 0.1
        done
        [ -n "$up" ] || { cat "$tmp/redis.log"; fail "redis-server did not start under the profilers"; }
        i=0
        while [ $i -lt 200 ]; do echo "INCR k"; i=$((i + 1)); done >"$tmp/cmds"
        echo "GET k" >>"$tmp/cmds"
        redis-cli -p "$port" <"$tmp/cmds" | tail -1 >"$tmp/redis.out"
        redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
        wait
        [ "$(cat "$tmp/redis.out")" = 200 ] || fail "redis: GET k gave $(cat "$tmp/redis.out"), want 200"
        for k in mutex holders block; do
            "$LOCKS_CHECK" total "$tmp/r.$k.pb.gz" >"$tmp/r.$k.total" || fail "redis: bad $k profile"
        done
        echo "redis-server --io-threads 2: 200 INCRs gave 200; mutex $(cat "$tmp/r.mutex.total")," \
            "block $(cat "$tmp/r.block.total")"
        ran=1
    fi
    [ "$ran" = 1 ] || { echo "none of python3, sqlite3, redis-server"; exit 77; }
    ;;
sampled)
    # 1 in 4 contentions and the default block rate: unbiased estimates
    env LD_PRELOAD="$LIBCPROF" CPROF_MUTEX="$tmp/m.pb.gz" CPROF_MUTEX_FRACTION=4 \
        CPROF_BLOCK="$tmp/b.pb.gz" "$LOCKS_KNOWN" sampled >"$tmp/expected"
    "$LOCKS_CHECK" estimate "$tmp/m.pb.gz" mutex "$tmp/expected" 4
    "$LOCKS_CHECK" estimate "$tmp/b.pb.gz" block "$tmp/expected" 200000
    ;;
record)
    # two processes under cprof record: one merged profile per type whose
    # figures are the sum of both programs' own measures
    CPROF_BLOCK_RATE=1 "$CPROF" record --mutex="$tmp/m.pb.gz" --block="$tmp/b.pb.gz" -- \
        sh -c "'$LOCKS_KNOWN' >'$tmp/e1'; '$LOCKS_KNOWN' >'$tmp/e2'" 2>"$tmp/rec.err" ||
        { cat "$tmp/rec.err"; fail "cprof record failed"; }
    cat "$tmp/rec.err"
    awk '{ k = $1 " " $2; if (!(k in c)) order[n++] = k; c[k] += $3; d[k] += $4 }
         END { for (i = 0; i < n; i++) { k = order[i]; split(k, a, " ");
               print k, (c[k] < 0 ? -1 : c[k]), d[k] } }' "$tmp/e1" "$tmp/e2" >"$tmp/expected"
    "$LOCKS_CHECK" compare "$tmp/m.pb.gz" mutex "$tmp/expected"
    "$LOCKS_CHECK" compare "$tmp/b.pb.gz" block "$tmp/expected"
    "$CPROF" tags "$tmp/m.pb.gz" | grep -q "locks_known" || fail "no comm label"
    ;;
*) fail "unknown mode $mode" ;;
esac
