#!/bin/sh
# run.sh MODE — I/O profile integration tests (meson suite `io`).
# The environment names the binaries (see meson.build).  Each mode exits 0
# on success, 77 (meson's "skipped") when a tool it needs is missing.
set -eu
mode=$1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cprof-io.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
command -v go >/dev/null 2>&1 || { echo "go tool pprof missing"; exit 77; }

# go tool pprof must read it; prints the top lines.
readable() {
    go tool pprof -top "$1" >"$tmp/top.txt" 2>&1 || { cat "$tmp/top.txt"; fail "go tool pprof cannot read $1"; }
}

# Total of one sample type in a profile, through go tool pprof -raw.
total() { # PROFILE TYPE
    go tool pprof -raw "$1" | awk -v t="$2" '
        /^Samples:/ { s = 1; next }
        s == 1 { for (i = 1; i <= NF; i++) if ($i ~ "^" t "/") col = i; s = 2; next }
        s == 2 && /^Locations/ { exit }
        s == 2 && $0 ~ /:/ { split($0, a, ":"); split(a[1], v, " "); sum += v[col] }
        END { printf "%d\n", sum }'
}

# same_output NAME CMD...: stdout, stderr and exit status identical with and
# without CPROF_IO (default rate, and rate 1); the profile opens in pprof.
same_output() {
    name=$1; shift
    set +e
    "$@" >"$tmp/$name.plain" 2>"$tmp/$name.plain.err"; st1=$?
    for rate in 1048576 1; do
        prof="$tmp/$name.$rate.%p.pb.gz"
        env LD_PRELOAD="$LIBCPROF" CPROF_IO="$prof" CPROF_IO_RATE=$rate "$@" \
            >"$tmp/$name.prof" 2>"$tmp/$name.prof.err"; st2=$?
        set -e
        [ "$st1" = "$st2" ] || fail "$name: exit status $st1 plain, $st2 profiled (rate $rate)"
        cmp -s "$tmp/$name.plain" "$tmp/$name.prof" || {
            diff "$tmp/$name.plain" "$tmp/$name.prof" | head -20; fail "$name: output differs"; }
        cmp -s "$tmp/$name.plain.err" "$tmp/$name.prof.err" || {
            diff "$tmp/$name.plain.err" "$tmp/$name.prof.err" | head -20; fail "$name: stderr differs"; }
        n=0
        for f in "$tmp/$name.$rate".*.pb.gz; do
            [ -s "$f" ] || fail "$name: no profile written"
            readable "$f"; n=$((n + 1))
        done
        rm -f "$tmp/$name.$rate".*.pb.gz
        set +e
    done
    set -e
    echo "$name: identical output and status ($(wc -c <"$tmp/$name.plain") bytes), $n profile(s) read by go tool pprof"
}

case "$mode" in
exact)
    CPROF_IO="$tmp/exact.pb.gz" CPROF_IO_RATE=1 LD_PRELOAD="$LIBCPROF" "$IO_KNOWN" exact "$tmp" >"$tmp/report"
    python3 "$IO_CHECK" exact "$tmp/report" "$tmp/exact.pb.gz"
    ;;
threads)
    # Rate 1, eight threads adding at once: exact sums.  The forked child
    # writes its own file (%p) holding its own calls only.
    CPROF_IO="$tmp/thr.%p.pb.gz" CPROF_IO_RATE=1 LD_PRELOAD="$LIBCPROF" "$IO_KNOWN" threads "$tmp" \
        >"$tmp/report" 2>"$tmp/child"
    parent=$(ls "$tmp"/thr.*.pb.gz | while read -r f; do
        case "$f" in *".$(sed -n 's/^child \([0-9]*\) .*/\1/p' "$tmp/child").pb.gz") ;; *) echo "$f" ;; esac; done)
    child="$tmp/thr.$(sed -n 's/^child \([0-9]*\) .*/\1/p' "$tmp/child").pb.gz"
    [ -s "$child" ] || fail "the forked child wrote no profile"
    python3 "$IO_CHECK" exact "$tmp/report" "$parent"
    sed 's/^child [0-9]* //' "$tmp/child" >"$tmp/child.report"
    python3 "$IO_CHECK" exact "$tmp/child.report" "$child"
    b=$(total "$child" io_bytes)
    [ "$b" = 100000 ] || fail "the child's profile holds $b bytes, want its own 100000"
    ;;
estimate)
    CPROF_IO="$tmp/est.pb.gz" LD_PRELOAD="$LIBCPROF" "$IO_KNOWN" estimate "$tmp" >"$tmp/report"
    python3 "$IO_CHECK" estimate "$tmp/report" "$tmp/est.pb.gz"
    ;;
real)
    head -c 3000000 /dev/urandom >"$tmp/data"
    size=$(wc -c <"$tmp/data")
    # Exact bytes at rate 1: cat copies the file once (copy_file_range or
    # read+write), dd reads it and writes it in 64 KiB blocks.
    CPROF_IO="$tmp/dd.pb.gz" CPROF_IO_RATE=1 LD_PRELOAD="$LIBCPROF" \
        dd if="$tmp/data" of="$tmp/dd.out" bs=64k status=none
    cmp -s "$tmp/data" "$tmp/dd.out" || fail "dd: copy differs"
    b=$(total "$tmp/dd.pb.gz" io_bytes)
    [ "$b" = $((2 * size)) ] || fail "dd: $b bytes in the profile, want $((2 * size)) (read + write)"
    c=$(total "$tmp/dd.pb.gz" io_calls)
    blocks=$(( (size + 65535) / 65536 ))
    echo "dd: io_bytes $b = 2 x $size, io_calls $c (>= $((2 * blocks + 1)): $blocks reads, the EOF read, $blocks writes)"
    [ "$c" -ge $((2 * blocks + 1)) ] || fail "dd: $c calls"
    same_output cat cat "$tmp/data"
    same_output cp sh -c "cp '$tmp/data' '$tmp/cp.out' && cmp '$tmp/data' '$tmp/cp.out' && echo same"
    same_output dd dd if="$tmp/data" bs=4k count=100 status=none
    if command -v sqlite3 >/dev/null 2>&1; then
        rm -f "$tmp/db.sqlite"
        same_output sqlite3 sh -c "rm -f '$tmp/db.sqlite'; sqlite3 '$tmp/db.sqlite' \
            'create table t(a, b); with recursive n(i) as (select 1 union all select i + 1 from n where i < 20000)
             insert into t select i, hex(randomblob(0)) || i from n; select count(*), sum(a) from t;'"
    fi
    # Debian's interpreter itself when there is one (not a version manager's shim)
    py=python3; [ -x /usr/bin/python3 ] && py=/usr/bin/python3
    same_output python3 "$py" -c "
import hashlib, os, sys
p = sys.argv[1]
with open(p, 'wb') as f:
    for i in range(2000): f.write(b'%d\n' % i)
with open(p, 'rb') as f: d = f.read()
print(len(d), hashlib.sha256(d).hexdigest())
os.unlink(p)" "$tmp/py.out"
    if command -v git >/dev/null 2>&1; then
        same_output git sh -c "rm -rf '$tmp/repo' && git init -q '$tmp/repo' && cd '$tmp/repo' &&
            seq 1 5000 >f && git add f && GIT_AUTHOR_DATE='2020-01-01T00:00:00Z' \
            GIT_COMMITTER_DATE='2020-01-01T00:00:00Z' git -c user.name=t -c user.email=t@t \
            commit -q -m m && git log --format=%H && git cat-file -p HEAD:f | wc -l"
    fi
    ;;
record)
    head -c 2000000 /dev/urandom >"$tmp/data"
    size=$(wc -c <"$tmp/data")
    # Rate 1 (record passes the environment on): exact bytes per program.
    CPROF_IO_RATE=1 "$CPROF" record --io="$tmp/rec.pb.gz" -- sh -c "cat '$tmp/data' >'$tmp/a'; dd if='$tmp/data' of='$tmp/b' bs=64k status=none" 2>"$tmp/err"
    cat "$tmp/err"
    grep -q 'read or written' "$tmp/err" || fail "record: no I/O summary"
    readable "$tmp/rec.pb.gz"
    go tool pprof -tags "$tmp/rec.pb.gz" >"$tmp/tags" 2>&1
    cat "$tmp/tags"
    grep -q 'cat' "$tmp/tags" && grep -q 'dd' "$tmp/tags" || fail "record: comm labels missing"
    grep -q 'kind' "$tmp/tags" || fail "record: no kind label"
    b=$(total "$tmp/rec.pb.gz" io_bytes)
    # cat copies once (copy_file_range, or read + write: then twice), dd
    # reads and writes: 3 or 4 times the file.
    [ "$b" = $((3 * size)) ] || [ "$b" = $((4 * size)) ] || fail "record: $b bytes, want $((3 * size)) or $((4 * size))"
    echo "record --io: merged profile, comm and kind labels, $b bytes (exact at rate 1)"
    ;;
*)
    fail "unknown mode $mode"
    ;;
esac
