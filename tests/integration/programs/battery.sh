#!/bin/sh
# battery.sh NAME — one real program (scenario NAME, below) run plain and
# under the profiler preloaded, which must change nothing the program does.
#
# Each scenario is a shell function whose program invocations go through
# `run`; it runs three (or four) times in the same working directory path
# (recreated each time, so paths printed by the programs agree):
#   plain      run = timeout
#   cpu+heap   run = timeout + LD_PRELOAD=libcprof.so CPROF_CPU=P/cpu.%p.pb.gz
#              CPROF_HEAP=P/heap.%p.pb.gz (default heap rate)
#   rate1      the same with CPROF_HEAP_RATE=1 (every allocation sampled)
#   leaks      (some scenarios) rate1 with CPROF_LEAKS=1
# and must give the same stdout, stderr and exit status, byte for byte after
# the scenario's normalisation (norm_NAME; each one says what varies and
# why).  Every profile file a profiled run leaves must be a whole, valid
# profile (`cprof top FILE` exits 0), at least one CPU and one heap profile
# must be written, and nothing else (no temp file) may be left behind.
#
# Environment (set by meson.build): LIBCPROF, CPROF, WORK (a folder under the
# build dir), ALLOC_JE, ALLOC_TC, FD2_REUSE, SIGALL (programs built here).
# Exit 0 when every variant matches, 1 with a precise report otherwise, 77
# (meson's "skipped") when the program is not installed.
set -u
name=$1
: "${LIBCPROF:?}" "${CPROF:?}" "${WORK:?}"
# Locale and time zone never decide an output; core files never pile up.
export LC_ALL=C TZ=UTC
ulimit -c 0 2>/dev/null  # dash, bash and busybox sh all have it
T=${BATTERY_TIMEOUT:-30}          # seconds per program invocation (openssl speed: ~7)
PY=/usr/bin/python3               # the system's, not a version manager's shim
base=$WORK/$name
rm -rf "$base"
mkdir -p "$base"
base=$(cd "$base" && pwd)
w=$base/w                         # the scenario's working directory
export HOME="$base/home"          # no user configuration (git, ssh, node)
mkdir -p "$HOME"
# Plain means plain: no profiler settings inherited from the caller.
unset LD_PRELOAD
for v in $(env | sed -n 's/^\(CPROF_[A-Z0-9_]*\)=.*/\1/p'); do unset "$v"; done
fails=0

needs() {
    for p in "$@"; do
        command -v "$p" >/dev/null 2>&1 || { echo "SKIP: $p is not installed"; exit 77; }
    done
}

# run CMD ARGS... — one program invocation of the scenario, profiled or not
# by the variant being run; the timeout kills the whole process group.
run() {
    if [ "$variant" = plain ]; then
        timeout -k 5 "$T" "$@"
    else
        # $venv is a list of NAME=VALUE words without spaces: split on purpose.
        # shellcheck disable=SC2086
        timeout -k 5 "$T" env LD_PRELOAD="$LIBCPROF" \
            CPROF_CPU="$pdir/cpu.%p.pb.gz" CPROF_HEAP="$pdir/heap.%p.pb.gz" $venv "$@"
    fi
}

# ------------------------------------------------------------ scenarios
# sc_NAME runs in $w with the variant's `run`; once_NAME (optional) runs
# once, unprofiled, in $base before all variants; setup_NAME (optional) runs
# unprofiled in a fresh $w before each variant; norm_NAME (optional) filters
# stdout and stderr of every variant alike before they are compared;
# variants_of (in the driver) lists the profiled variants when they are not
# the usual two.

sc_node() {
    # crypto loads OpenSSL, whose exit-time cleanup the profiler must outlive.
    run node -e '
const crypto = require("crypto");
let h = "cprof";
for (let i = 0; i < 2000; i++) h = crypto.createHash("sha256").update(h).digest("hex");
console.log(h);
const m = new Map();
for (let i = 0; i < 100000; i++) m.set("k" + i, [i, i * 2]);
let s = 0;
for (const v of m.values()) s += v[1];
console.log(m.size, s);
console.error("done on stderr");
process.exitCode = 3;'
}

setup_curl() { seq 1 5000 | sed 's/^/curl line /' >data.txt; }
sc_curl() {
    run curl -s "file://$w/data.txt" >got.txt; echo "curl: $?"
    tail -n 2 got.txt
    run curl -s -o copy.txt "file://$w/data.txt"; echo "curl -o: $?"
    cmp data.txt copy.txt && echo "copy identical"
    run curl -s "file://$w/no/such/file"; echo "curl missing file: $?"
}

sc_openssl() { run openssl speed -seconds 1 sha256; }
# openssl speed measures: the operation counts, seconds and throughputs vary
# from run to run (and the column widths with them); the rest must not.
norm_openssl() {
    sed -e '/^Doing /{s/: [0-9]* /: N /;s/ in [0-9.]*s$/ in Ns/;}' \
        -e '/^sha256 /{s/[0-9][0-9.]*k/N/g;s/  */ /g;}'
}

once_ssh_keygen() {
    ssh-keygen -q -t ed25519 -N '' -C battery -f "$base/ed" &&
        ssh-keygen -q -t ecdsa -N '' -C battery -f "$base/ec"
}
sc_ssh_keygen() {
    run ssh-keygen -q -t ecdsa -N '' -C battery-new -f key; echo "keygen: $?"
    [ -s key ] && [ -s key.pub ] && echo "key files written"
    run ssh-keygen -l -f key; echo "fingerprint: $?"
    for k in ed ec ed ec; do
        run ssh-keygen -y -f "$base/$k"; echo "public key of $k: $?"
    done
    run ssh-keygen -l -f "$base/ed"
}
# A new key has a new fingerprint each run: only its shape is compared.
norm_ssh_keygen() { sed -e '/battery-new/s/SHA256:[A-Za-z0-9+\/]*/SHA256:X/'; }

# One free loopback port for all variants (they run one after the other),
# so that messages naming it agree.
once_redis() {
    $PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' >port
}
sc_redis() {
    run redis-server --version
    port=$(cat "$base/port")
    run redis-server --save '' --appendonly no --port "$port" --bind 127.0.0.1 \
        --logfile "$w/redis.log" --loglevel warning &
    server=$!
    up=no
    for _ in $(seq 200); do
        redis-cli -p "$port" ping >/dev/null 2>&1 && { up=yes; break; }
        kill -0 "$server" 2>/dev/null || break      # it died
        sleep 0.05
    done
    echo "server up: $up"
    run redis-benchmark -p "$port" -q -n 20000 -t set,get -P 16; echo "benchmark: $?"
    # Every request completed: the server counted exactly 20000 of each.
    redis-cli -p "$port" info commandstats | tr -d '\r' |
        grep -E '^cmdstat_(set|get):' | sed 's/,.*//' | sort
    run redis-cli -p "$port" shutdown nosave; echo "shutdown: $?"
    [ "$up" = yes ] || kill "$server" 2>/dev/null
    wait "$server"; echo "server exit: $?"
    # The log's lines start with the pid and a timestamp, and one names the pid.
    sed -e 's/^[0-9]*:\([A-Z]\) [0-9]* [A-Z][a-z]* [0-9]* [0-9:.]* /\1 /' \
        -e 's/pid=[0-9]*/pid=N/' redis.log
}
# redis-benchmark redraws a progress line with \r as often as its timer
# fires, and measures requests per second and latency: keep each final
# line, its figures as N.
norm_redis() {
    tr '\r' '\n' | grep -v 'rps=' | grep -v '^ *$' | sed '/requests per second/s/[0-9][0-9.]*/N/g'
}

setup_sqlite3() {
    cat >script.sql <<'SQL'
CREATE TABLE t(id INTEGER PRIMARY KEY, k TEXT, v INTEGER);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100000)
INSERT INTO t SELECT x, 'key' || (x * 7919 % 1000), x * x % 65537 FROM c;
CREATE INDEX tk ON t(k);
SELECT count(*), sum(v) FROM t;
SELECT k, count(*), max(v) FROM t GROUP BY k ORDER BY k LIMIT 5;
SELECT printf('%.3f', avg(v)) FROM t WHERE k = 'key42';
DELETE FROM t WHERE v % 3 = 0;
SELECT count(*) FROM t;
SELECT * FROM no_such_table;
SQL
}
sc_sqlite3() { run sqlite3 db.sqlite <script.sql; }

setup_python3() {
    cat >threads.py <<'PY'
import hashlib, sys, threading
results = [None] * 4
def work(i):
    h = hashlib.sha256(str(i).encode())
    d = {}
    for j in range(60000):
        d[j] = str(j * (i + 1))
        if j % 100 == 0:
            h.update(d[j].encode())
    results[i] = (len(d), h.hexdigest()[:16])
threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
for t in threads: t.start()
for t in threads: t.join()
for i, r in enumerate(results): print(i, *r)
print("threads done", file=sys.stderr)
sys.exit(4)
PY
}
sc_python3() { run "$PY" threads.py; }

sc_git() {
    # The ceiling keeps git from finding the repository the test runs in
    # when `init` failed: a commit -a there once committed a developer's
    # work under this scenario's identity.
    export GIT_CEILING_DIRECTORIES="$PWD" GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null \
        GIT_AUTHOR_NAME=cprof GIT_AUTHOR_EMAIL=cprof@example.invalid \
        GIT_COMMITTER_NAME=cprof GIT_COMMITTER_EMAIL=cprof@example.invalid \
        GIT_AUTHOR_DATE='2026-01-01T00:00:00Z' GIT_COMMITTER_DATE='2026-01-01T00:00:00Z'
    run git init -b main repo; echo "init: $?"
    for i in $(seq 1 40); do seq "$i" 500 >"repo/f$i.txt"; done
    run git -C repo add .; echo "add: $?"
    run git -C repo commit -q -m first; echo "commit: $?"
    seq 1 7 >repo/f3.txt
    run git -C repo commit -a -m second; echo "commit: $?"
    run git -C repo log --format='%H %an %ad %s'
    run git clone --no-hardlinks repo clone; echo "clone: $?"
    run git -C clone fsck --full; echo "fsck: $?"
    run git -C clone diff --stat HEAD~1 HEAD
    run git -C clone rev-parse HEAD no-such-rev; echo "rev-parse: $?"
}

setup_make() {
    mkdir mk
    # Four parts built two at a time; each recipe is silent and writes a
    # file, so the order in which -j2 finishes them cannot show.
    cat >mk/Makefile <<'MK'
parts := out/a out/b out/c out/d
all: out/total
	@cat out/total
$(parts): | out
	@i=0; s=0; while [ $$i -lt 3000 ]; do s=$$((s + i)); i=$$((i + 1)); done; echo "$(notdir $@) $$s" >$@
out:
	@mkdir -p out
out/total: $(parts)
	@cat $^ >$@
	@echo built $(words $^) parts
fail:
	@exit 3
.PHONY: all fail
MK
}
sc_make() {
    run make --no-print-directory -j2 -C mk; echo "make: $?"
    run make --no-print-directory -j2 -C mk fail; echo "make fail: $?"
}

setup_gcc() {
    cat >prog.c <<'C'
#include <stdio.h>
#include <stdlib.h>
static int cmp(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }
int main(void) {
    enum { N = 200000 };
    int *v = malloc(N * sizeof *v);
    unsigned x = 12345;
    for (int i = 0; i < N; i++) { x = x * 1103515245u + 12345u; v[i] = (int)(x >> 8); }
    qsort(v, N, sizeof *v, cmp);
    long long s = 0;
    for (int i = 0; i < N; i += 1000) s += v[i];
    printf("%d %d %lld\n", v[0], v[N - 1], s);
    free(v);
    return 0;
}
C
}
sc_gcc() {
    run gcc -O2 -Wall -o prog prog.c; echo "gcc: $?"
    run ./prog; echo "prog: $?"
    # The compiler's output must be the same binary.
    sha256sum prog | cut -c1-64
}

once_sort() {
    # 200000 lines in a scrambled order (7919 * 200000 < 2^31: exact in awk).
    seq 1 200000 | awk '{ print ($1 * 7919) % 200003, "line", $1 }' >"$base/in.txt"
}
sc_sort() {
    run sort -n -k1,1 -k3 "$base/in.txt" -o sorted.txt; echo "sort: $?"
    sha256sum <sorted.txt | cut -c1-64; head -n 2 sorted.txt
    # Small buffer and two threads: temporary files and a parallel merge.
    mkdir tmp
    run sort -r -S 1M --parallel=2 -T tmp "$base/in.txt" -o rev.txt; echo "sort -r: $?"
    sha256sum <rev.txt | cut -c1-64
    run sort -c -n sorted.txt; echo "sort -c sorted: $?"
    run sort -c -n "$base/in.txt"; echo "sort -c unsorted: $?"
}

setup_tar() {
    mkdir d d/sub
    for i in $(seq 1 30); do seq "$i" 2000 >"d/f$i"; done
    seq 1 100 >d/sub/g
}
sc_tar() {
    # Fixed times and owners make the archive itself reproducible.
    run tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf a.tar d
    echo "create: $?"
    run tar -tvf a.tar; echo "list: $?"
    sha256sum a.tar | cut -c1-64
    mkdir x
    run tar -xf a.tar -C x; echo "extract: $?"
    diff -r d x/d && echo "extracted tree identical"
    run tar --sort=name --mtime=@0 --owner=0 --group=0 -czf a.tgz d; echo "create gzip: $?"
    run tar -tzf a.tgz >list.txt; echo "list gzip: $?"
    tail -n 3 list.txt
    run tar -tf no-such.tar; echo "list missing: $?"
}

once_grep() {
    mkdir "$base/tree"
    seq 1 100000 | sed 's/^/grep line /' >"$base/text"
    for i in $(seq 1 20); do seq "$i" 3 3000 >"$base/tree/t$i"; done
}
sc_grep() {
    run grep -c 'line 1' "$base/text"; echo "count: $?"
    run grep -n -E 'line (12|345)67$' "$base/text"
    run grep -r -l -x 2999 "$base/tree" >found.txt; echo "recursive: $?"
    sort found.txt
    run grep -q 'absent' "$base/text"; echo "no match: $?"
    run grep x "$base/no-such-file"; echo "missing file: $?"
}

# gnulib programs close stderr at exit: the leak summary must still reach
# the stderr the program started with (variant leaks only, see variants_of).
sc_sort_leaks() {
    seq 1 20000 | sed 's/$/ x/' >in.txt
    run sort -r in.txt -o rev.txt; echo "sort: $?"
    head -n 1 rev.txt
}

# unshare(CLONE_NEWUSER) refuses a process with more than one thread: a
# profiler that adds one breaks it (EINVAL).
sc_unshare() { run unshare -U -r id -u; }

sc_jemalloc() { run "$ALLOC_JE"; }
sc_tcmalloc() { run "$ALLOC_TC"; }

# Variants cpu+heap, rate1 and leaks (see variants_of).
sc_fd2() {
    run "$FD2_REUSE" data.bin; echo "exit: $?"
    # The data file's bytes, every one: nothing of the profiler's may be in it.
    od -c data.bin
}

sc_signals() { run "$SIGALL"; }
# The program takes every signal, so no free one is left for CPU sampling:
# one line per process tree saying so is allowed (and removed here); a
# second line, or any line when a signal was free, is noise and differs.
norm_signals() { sed -E '0,/^(==[0-9]+== )?cprof: /{/^(==[0-9]+== )?cprof: /d;}'; }

# ------------------------------------------------------------ driver
case $name in
node|curl|openssl|sqlite3|git|make|gcc|sort|tar|grep) needs "$name" ;;
ssh_keygen) needs ssh-keygen ;;
sort_leaks) needs sort ;;
unshare)
    needs unshare id
    unshare -U -r true 2>/dev/null || { echo "SKIP: no user namespaces here"; exit 77; } ;;
redis) needs redis-server redis-benchmark redis-cli ;;
python3) needs "$PY" ;;
jemalloc) [ -n "${ALLOC_JE:-}" ] || { echo "SKIP: no jemalloc to link with"; exit 77; } ;;
tcmalloc) [ -n "${ALLOC_TC:-}" ] || { echo "SKIP: no tcmalloc to link with"; exit 77; } ;;
fd2|signals) ;;
*) echo "battery.sh: no scenario $name"; exit 2 ;;
esac
needs timeout cmp diff od sha256sum

has_fn() { type "$1" 2>/dev/null | head -n 1 | grep -q 'function'; }

# run_variant VARIANT ENV... — one full run of the scenario into $base/VARIANT.*
run_variant() {
    variant=$1; shift
    venv="$*"
    pdir=$base/$variant.prof
    mkdir -p "$pdir"
    rm -rf "$w"; mkdir -p "$w"
    if has_fn "setup_$name"; then (cd "$w" && "setup_$name") || { echo "FAIL: setup_$name"; exit 1; }; fi
    (cd "$w" && "sc_$name") >"$base/$variant.out" 2>"$base/$variant.err" </dev/null
    echo $? >"$base/$variant.status"
    for s in out err; do
        if has_fn "norm_$name"; then
            "norm_$name" <"$base/$variant.$s" >"$base/$variant.$s.n"
        else
            cp "$base/$variant.$s" "$base/$variant.$s.n"
        fi
    done
}

describe_status() {
    if [ "$1" -gt 128 ] && [ "$1" -lt 160 ]; then
        echo "$1 (killed by $(kill -l "$(($1 - 128))" 2>/dev/null || echo "signal $(($1 - 128))"))"
    elif [ "$1" = 124 ]; then echo "124 (timeout after ${T}s)"
    else echo "$1"; fi
}

# compare VARIANT — report every way VARIANT differs from plain; 0 if none.
compare() {
    v=$1 bad=0
    a=$(cat "$base/plain.status") b=$(cat "$base/$v.status")
    if [ "$a" != "$b" ]; then
        echo "  exit status: plain $(describe_status "$a"), $v $(describe_status "$b")"; bad=1
    fi
    for s in out err; do
        [ $s = err ] && [ "$v" = leaks ] && continue   # compared below
        if ! cmp -s "$base/plain.$s.n" "$base/$v.$s.n"; then
            stream=stdout; [ $s = err ] && stream=stderr
            echo "  $stream differs ($(wc -l <"$base/plain.$s.n") lines plain, $(wc -l <"$base/$v.$s.n") $v); first hunk:"
            diff "$base/plain.$s.n" "$base/$v.$s.n" | head -n 8 | cut -c1-240 | sed 's/^/    /'
            bad=1
        fi
    done
    if [ "$v" = leaks ]; then
        # CPROF_LEAKS=1 adds the leak summary (docs/heap.md: a line
        # "==PID== cprof: LEAK SUMMARY: ..." or "... cprof: no leaks: ...")
        # to the stderr the program had at start, after its own lines,
        # which must be what they were.
        if ! grep -Eq '^==[0-9]+== cprof: (LEAK SUMMARY|no leaks)' "$base/$v.err"; then
            echo "  stderr: no leak summary"; bad=1
        fi
        sed '/^==[0-9]*== cprof: /,$d' "$base/$v.err.n" >"$base/$v.err.own"
        if ! cmp -s "$base/plain.err.n" "$base/$v.err.own"; then
            echo "  stderr before the leak summary differs; first hunk:"
            diff "$base/plain.err.n" "$base/$v.err.own" | head -n 8 | cut -c1-240 | sed 's/^/    /'
            bad=1
        fi
    fi
    return $bad
}

# check_profiles VARIANT — every file left is a valid profile; none is a temp.
check_profiles() {
    v=$1 bad=0 ncpu=0 nheap=0 nbad=0
    pdir=$base/$v.prof
    for f in "$pdir"/* ; do
        [ -e "$f" ] || continue
        case ${f##*/} in
        cpu.*.pb.gz|heap.*.pb.gz)
            case ${f##*/} in cpu.*) ncpu=$((ncpu + 1)) ;; *) nheap=$((nheap + 1)) ;; esac
            if ! DEBUGINFOD_URLS='' "$CPROF" top "$f" >/dev/null 2>"$base/top.err"; then
                nbad=$((nbad + 1))
                [ $nbad -le 3 ] && echo "  invalid profile ${f##*/}: $(head -n 1 "$base/top.err")"
                bad=1
            fi ;;
        *) echo "  left behind: ${f##*/} ($(wc -c <"$f") bytes)"; bad=1 ;;
        esac
    done
    [ $nbad -gt 3 ] && echo "  ... $nbad invalid profiles in all"
    [ $ncpu -ge 1 ] || { echo "  no CPU profile written"; bad=1; }
    [ $nheap -ge 1 ] || { echo "  no heap profile written"; bad=1; }
    echo "$ncpu CPU and $nheap heap profiles" >"$base/$v.count"
    return $bad
}

if has_fn "once_$name"; then (cd "$base" && "once_$name") || { echo "FAIL: once_$name"; exit 1; }; fi
run_variant plain
echo "$name: plain exit $(describe_status "$(cat "$base/plain.status")"), stdout $(wc -l <"$base/plain.out") lines, stderr $(wc -l <"$base/plain.err") lines"

variants_of() {
    case $1 in
    fd2) echo "cpu+heap rate1 leaks" ;;
    sort_leaks) echo "leaks" ;;
    *) echo "cpu+heap rate1" ;;
    esac
}
for v in $(variants_of "$name"); do
    case $v in
    cpu+heap) run_variant "$v" ;;
    rate1) run_variant "$v" CPROF_HEAP_RATE=1 ;;
    leaks) run_variant "$v" CPROF_HEAP_RATE=1 CPROF_LEAKS=1 ;;
    esac
    report=$( { compare "$v"; check_profiles "$v"; } 2>&1)
    if [ -z "$report" ]; then
        echo "$name [$v]: identical; $(cat "$base/$v.count"), all valid"
    else
        echo "FAIL $name [$v]: ($(cat "$base/$v.count" 2>/dev/null))"
        echo "$report"
        fails=$((fails + 1))
    fi
done
rm -rf "$w"
[ $fails = 0 ] || { echo "$name: $fails variant(s) differ; outputs kept in $base"; exit 1; }
rm -rf "$base"
exit 0
