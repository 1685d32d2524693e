#!/bin/sh
# run.sh MODE — the heap profiler on top of any allocator (meson suite `alloc`).
# The environment names the binaries (see meson.build).  Exit 0 on success,
# 77 (meson's "skipped") when a program it needs is missing.
set -eu
mode=$1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cprof-alloc.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
export LC_ALL=C

# The exact figures of `alloc_prog run` at rate 1, one line per site:
# alloc_objects alloc_space inuse_objects inuse_space.
cat >"$tmp/want" <<'EOF'
site_malloc 1000 24000 600 14400
site_calloc 200 24000 200 24000
site_realloc 50 81600 1 3200
site_memalign 30 6000 30 6000
site_posix 20 20000 20 20000
site_aligned 10 81920 10 81920
site_valloc 3 300 3 300
site_zero 7 0 7 0
site_big 5 5242880 5 5242880
site_thread_alloc 2000 96000 0 0
cprof_lost_samples 1 0 0 0
EOF

# same NAME EXPECTED_PREFIX CMD...: stdout, stderr and exit status of CMD
# equal the files $tmp/NAME.{out,err,st} of the plain run.
same() {
    name=$1; tag=$2; shift 2
    set +e
    "$@" >"$tmp/$name.$tag.out" 2>"$tmp/$name.$tag.err"; st=$?
    set -e
    [ "$st" = "$(cat "$tmp/$name.st")" ] || fail "$name $tag: exit status $st, plain $(cat "$tmp/$name.st")"
    cmp -s "$tmp/$name.out" "$tmp/$name.$tag.out" || {
        diff "$tmp/$name.out" "$tmp/$name.$tag.out" | head; fail "$name $tag: stdout differs"; }
    cmp -s "$tmp/$name.err" "$tmp/$name.$tag.err" || {
        diff "$tmp/$name.err" "$tmp/$name.$tag.err" | head; fail "$name $tag: stderr differs"; }
}

# check_variant LABEL PRELOAD_AFTER PROG: PROG plain, with libcprof
# preloaded (followed by PRELOAD_AFTER, if any), profiled at the default
# rate and at rate 1.
check_variant() {
    label=$1; after=$2; prog=$3
    pre=$LIBCPROF${after:+:$after}
    for what in sizes run; do
        n=$label.$what
        set +e
        env ${after:+LD_PRELOAD=$after} "$prog" $what >"$tmp/$n.out" 2>"$tmp/$n.err"
        echo $? >"$tmp/$n.st"
        set -e
        [ "$(cat "$tmp/$n.st")" = 0 ] || fail "$label $what: plain run failed: $(cat "$tmp/$n.out")"
        # Preloaded, profiling off: the very same allocator, so the very same
        # usable sizes.
        same "$n" preload env LD_PRELOAD="$pre" "$prog" $what
    done
    for rate in 524288 1; do
        prof="$tmp/$label.$rate.pb.gz"
        same "$label.run" "rate$rate" env LD_PRELOAD="$pre" CPROF_HEAP="$prof" \
            CPROF_HEAP_RATE=$rate CPROF_HEAP_SEED=3 "$prog" run
        "$HEAP_CHECK" valid "$prof" >/dev/null || fail "$label rate $rate: invalid profile"
    done
    "$HEAP_CHECK" sites "$tmp/$label.1.pb.gz" >"$tmp/$label.sites"
    while read -r line; do
        grep -qx "$line" "$tmp/$label.sites" || {
            grep "^${line%% *} " "$tmp/$label.sites"
            fail "$label rate 1: want '$line'"; }
    done <"$tmp/want"
    # The profiler's own allocations (pthread_create's trampoline record)
    # are not the program's.
    if grep -E "^(pthread_create|cp_|cprof_)" "$tmp/$label.sites" | grep -v "^cprof_lost_samples "; then
        fail "$label: the profiler's own allocations are charged to the program"
    fi
    echo "$label: same output plain/preloaded/profiled; usable sizes $(tr '\n' ' ' <"$tmp/$label.sizes.out" | cut -c1-60)...; rate 1 exact at $(wc -l <"$tmp/want") sites"
}

cat >"$tmp/want_cxx" <<'EOF'
site_new 300 1200 200 800
site_new_array 50 50000 30 30000
site_new_aligned 40 5120 30 3840
site_new_nothrow 30 240 0 0
site_new_aligned_array 5 1920 0 0
EOF

# check_cxx LABEL PRELOAD_AFTER PROG: C++ new/delete (plain, sized,
# aligned, nothrow, arrays) through the allocator's own operators (or
# libstdc++'s on glibc): same output, exact counts at rate 1.
check_cxx() {
    label=cxx-$1; after=$2; prog=$3
    pre=$LIBCPROF${after:+:$after}
    n=$label.run
    set +e
    env ${after:+LD_PRELOAD=$after} "$prog" >"$tmp/$n.out" 2>"$tmp/$n.err"; echo $? >"$tmp/$n.st"
    set -e
    [ "$(cat "$tmp/$n.st")" = 0 ] || fail "$label: plain run failed"
    same "$n" preload env LD_PRELOAD="$pre" "$prog"
    for rate in 524288 1; do
        same "$n" "rate$rate" env LD_PRELOAD="$pre" CPROF_HEAP="$tmp/$label.$rate.pb.gz" \
            CPROF_HEAP_RATE=$rate "$prog"
    done
    "$HEAP_CHECK" site_frames "$tmp/$label.1.pb.gz" >"$tmp/$label.sites"
    while read -r line; do
        grep -qx "$line" "$tmp/$label.sites" || {
            grep "^${line%% *} " "$tmp/$label.sites"
            fail "$label rate 1: want '$line'"; }
    done <"$tmp/want_cxx"
    echo "$label: same output plain/preloaded/profiled; rate 1 exact at $(wc -l <"$tmp/want_cxx") operator new sites"
}

case "$mode" in
allocators)
    check_variant glibc "" "$ALLOC_PROG_GLIBC"
    count=1
    for v in JEMALLOC TCMALLOC_MINIMAL MIMALLOC; do
        prog=$(eval echo "\${ALLOC_PROG_$v:-}")
        [ -n "$prog" ] || fail "alloc_prog linked with $v not built (tools/deps.sh)"
        check_variant "$v" "" "$prog"
        cmp -s "$tmp/glibc.sizes.out" "$tmp/$v.sizes.out" &&
            fail "$v: usable sizes identical to glibc's: the test cannot tell the allocators apart"
        count=$((count + 1))
    done
    # A glibc program with jemalloc preloaded after the profiler.
    je=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2
    [ -e "$je" ] || fail "$je missing"
    check_variant glibc+jemalloc "$je" "$ALLOC_PROG_GLIBC"
    cmp -s "$tmp/JEMALLOC.sizes.out" "$tmp/glibc+jemalloc.sizes.out" ||
        fail "jemalloc preloaded: usable sizes are not jemalloc's"
    echo "$count allocators linked and 1 preloaded: all ok"
    if [ -n "${ALLOC_CXX_GLIBC:-}" ]; then
        check_cxx glibc "" "$ALLOC_CXX_GLIBC"
        for v in JEMALLOC TCMALLOC_MINIMAL MIMALLOC; do
            check_cxx "$v" "" "$(eval echo "\${ALLOC_CXX_$v:-}")"
        done
        check_cxx glibc+jemalloc "$je" "$ALLOC_CXX_GLIBC"
    else
        echo "no C++ compiler: operator new/delete part skipped"
    fi
    ;;
redis)
    command -v redis-server >/dev/null 2>&1 || { echo "redis-server not installed: skipped"; exit 77; }
    redis-server --version >"$tmp/v.out" 2>&1
    grep -q "malloc=jemalloc" "$tmp/v.out" || echo "note: this redis-server is not built on jemalloc"
    for rate in off 524288 1; do
        if [ $rate = off ]; then set -- env; else set -- env CPROF_HEAP="$tmp/v.$rate.pb.gz" CPROF_HEAP_RATE=$rate; fi
        "$@" LD_PRELOAD="$LIBCPROF" redis-server --version >"$tmp/v.$rate.out" 2>&1 ||
            fail "redis-server --version under the profiler ($rate): exit $?"
        cmp -s "$tmp/v.out" "$tmp/v.$rate.out" || fail "redis-server --version output differs ($rate)"
    done
    "$HEAP_CHECK" valid "$tmp/v.1.pb.gz" >/dev/null || fail "redis --version: invalid profile"
    # A short server life: a few commands over loopback, then shutdown.
    command -v redis-cli >/dev/null 2>&1 || { echo "redis-cli not installed: skipped"; exit 77; }
    port=$(( 20000 + $$ % 20000 ))
    LD_PRELOAD="$LIBCPROF" CPROF_HEAP="$tmp/srv.pb.gz" CPROF_HEAP_RATE=1 \
        redis-server --port $port --bind 127.0.0.1 --save "" --appendonly no \
        --dir "$tmp" --daemonize no >"$tmp/srv.log" 2>&1 &
    pid=$!
    i=0
    until redis-cli -p $port ping >/dev/null 2>&1; do
        i=$((i + 1)); [ $i -lt 100 ] || { kill $pid; fail "redis-server did not start: $(tail -5 "$tmp/srv.log")"; }
        sleep 0.1
    done
    for k in 1 2 3 4 5 6 7 8 9 10; do
        redis-cli -p $port set "key$k" "$(printf "%0${k}00d" 0)" >/dev/null
    done
    got=$(redis-cli -p $port get key3 | wc -c)
    redis-cli -p $port shutdown nosave >/dev/null 2>&1 || true
    wait $pid || fail "redis-server exited with status $?: $(tail -5 "$tmp/srv.log")"
    [ "$got" = 301 ] || fail "redis GET returned $got bytes, want 301"
    "$HEAP_CHECK" valid "$tmp/srv.pb.gz" >/dev/null || fail "redis server: invalid profile"
    "$HEAP_CHECK" sites "$tmp/srv.pb.gz" >"$tmp/srv.sites"
    grep -q "^zmalloc" "$tmp/srv.sites" || fail "redis server profile: no zmalloc site: $(head "$tmp/srv.sites")"
    echo "redis-server: --version unchanged (off, default rate, rate 1); served SET/GET under rate 1; $(wc -l <"$tmp/srv.sites") allocation sites, e.g. $(grep "^zmalloc " "$tmp/srv.sites")"
    ;;
valgrind)
    # Valgrind's count of every malloc-family call as the oracle: at rate 1
    # the profile's totals must equal its "total heap usage" (allocs,
    # bytes) and "in use at exit", allocations made by other libraries'
    # constructors before ours (libstdc++'s 72,704-byte pool, libselinux's
    # buffers in sed and tar) and
    # zero-size ones included.  Both runs get the same environment.
    command -v valgrind >/dev/null 2>&1 || { echo "valgrind not installed: skipped"; exit 77; }
    command -v sqlite3 >/dev/null 2>&1 || fail "sqlite3 not installed (tools/deps.sh)"
    cat >"$tmp/s.sql" <<'EOF'
create table t(a integer primary key, b text);
with recursive c(x) as (select 1 union all select x + 1 from c where x < 2000)
  insert into t select x, printf('row %d %s', x, hex(zeroblob(x % 17))) from c;
select count(*), sum(length(b)) from t;
create index tb on t(b);
select a from t where b like 'row 1%' order by b limit 3;
EOF
    # oracle NAME CMD...: valgrind's figures vs the profile's totals.
    oracle() {
        name=$1; shift
        prof="$tmp/$name.pb.gz"
        e="env -i PATH=/usr/bin:/bin LC_ALL=C HOME=$tmp CPROF_HEAP=$prof CPROF_HEAP_RATE=1"
        $e "$@" <"$tmp/s.sql" >"$tmp/$name.plain" 2>&1 || fail "$name: plain run failed"
        $e valgrind --run-libc-freeres=no --run-cxx-freeres=no "$@" <"$tmp/s.sql" \
            >"$tmp/$name.vg.out" 2>"$tmp/$name.vg"
        cmp -s "$tmp/$name.plain" "$tmp/$name.vg.out" || fail "$name: output differs under valgrind"
        $e LD_PRELOAD="$LIBCPROF" "$@" <"$tmp/s.sql" >"$tmp/$name.prof" 2>&1 ||
            fail "$name: profiled run failed"
        cmp -s "$tmp/$name.plain" "$tmp/$name.prof" || fail "$name: output differs profiled"
        # "total heap usage: 14,781 allocs, 14,765 frees, 1,355,804 bytes allocated"
        vg=$(sed -n 's/.*total heap usage: \([0-9,]*\) allocs, [0-9,]* frees, \([0-9,]*\) bytes.*/\1 \2/p' \
            "$tmp/$name.vg" | tr -d ,)
        use=$(sed -n 's/.*in use at exit: \([0-9,]*\) bytes in \([0-9,]*\) blocks.*/\2 \1/p' \
            "$tmp/$name.vg" | tr -d ,)
        [ -n "$vg" ] && [ -n "$use" ] || fail "$name: no valgrind summary: $(tail -3 "$tmp/$name.vg")"
        got=$("$HEAP_CHECK" totals "$prof" | tr '\n' ' ')
        [ "$got" = "$vg $use " ] ||
            fail "$name: profile alloc_objects alloc_space inuse_objects inuse_space = $got; valgrind $vg $use"
        echo "$name: valgrind $vg allocs/bytes, $use in use at exit = profile $got"
    }
    oracle sqlite3 sqlite3 :memory:
    # libselinux's constructor allocates before ours in sed and tar.
    oracle sed sed s/row/ROW/
    oracle tar tar -C "$tmp" -cf - s.sql
    [ -n "${HEAP_CXX:-}" ] || { echo "no C++ compiler: C++ part skipped"; exit 0; }
    oracle cxx "$HEAP_CXX"
    # libstdc++'s emergency pool, allocated by its constructor before ours.
    "$HEAP_CHECK" sites "$tmp/cxx.pb.gz" >"$tmp/cxx.sites"
    grep -q " 1 72704 1 72704\$" "$tmp/cxx.sites" ||
        fail "C++: no 72704-byte constructor allocation: $(cat "$tmp/cxx.sites")"
    echo "C++: libstdc++'s 72704-byte pool (allocated before our constructor) is in the profile"
    ;;
leaks)
    # CPROF_LEAKS=1 reports to the stderr the program started with, even
    # when gnulib's close_stdout has closed fd 2 in an atexit handler (sort,
    # grep), and never into a file that took fd 2 over.
    summary='^==[0-9]*== cprof: (LEAK SUMMARY: [0-9]* bytes in [0-9]* objects|no leaks)'
    awk 'BEGIN { for (i = 0; i < 3000; i++) printf "%d line %x\n", (i * 7919) % 1009, i }' >"$tmp/in.txt"
    for cmd in "sort -n" "grep 7f" "grep nomatch"; do
        name=$(echo "$cmd" | tr ' ' _)
        set +e
        $cmd "$tmp/in.txt" >"$tmp/$name.out" 2>"$tmp/$name.err"; st1=$?
        CPROF_LEAKS=1 LD_PRELOAD="$LIBCPROF" $cmd "$tmp/in.txt" >"$tmp/$name.lout" 2>"$tmp/$name.lerr"; st2=$?
        set -e
        [ "$st1" = "$st2" ] || fail "$cmd: exit status $st1 plain, $st2 with CPROF_LEAKS=1"
        cmp -s "$tmp/$name.out" "$tmp/$name.lout" || fail "$cmd: stdout differs"
        [ ! -s "$tmp/$name.err" ] || fail "$cmd: plain run wrote to stderr"
        grep -Eq "$summary" "$tmp/$name.lerr" || fail "$cmd: no leak summary on stderr: $(head -3 "$tmp/$name.lerr")"
        echo "$cmd: $(grep -E "$summary" "$tmp/$name.lerr" | cut -d' ' -f2-8)"
    done
    # fd 2 closed and reused for a data file.
    printf 'first line\n' >"$tmp/data"
    CPROF_LEAKS=1 LD_PRELOAD="$LIBCPROF" "$LEAK_FD2" "$tmp/data" >"$tmp/fd2.out" 2>"$tmp/fd2.err" ||
        fail "leak_fd2 exited with $?"
    [ "$(cat "$tmp/data")" = "$(printf 'first line\ndata line')" ] ||
        fail "the data file on fd 2 was changed: $(head -5 "$tmp/data")"
    grep -q "^1234 bytes in 1 objects allocated from:" "$tmp/fd2.err" ||
        fail "leak_fd2: no report on the original stderr: $(head -5 "$tmp/fd2.err")"
    grep -A1 "^1234 bytes in 1 objects" "$tmp/fd2.err" | grep -q "in leaky_site" ||
        fail "leak_fd2: leaky_site not named: $(head -8 "$tmp/fd2.err")"
    echo "fd 2 reused for a data file: data file unchanged, report on the original stderr"
    # CPROF_LEAKS=FILE: the report there (atomically), stderr untouched.
    for f in "$tmp/leaks.txt" "$tmp/leaks.%p.txt"; do
        CPROF_LEAKS="$f" LD_PRELOAD="$LIBCPROF" grep 7f "$tmp/in.txt" >"$tmp/file.out" 2>"$tmp/file.err"
        cmp -s "$tmp/grep_7f.out" "$tmp/file.out" || fail "CPROF_LEAKS=FILE: stdout differs"
        [ ! -s "$tmp/file.err" ] || fail "CPROF_LEAKS=FILE: wrote to stderr: $(head -3 "$tmp/file.err")"
        got=$(ls "$tmp" | grep '^leaks\.' )
        case "$f" in
        *%p*) [ "$(echo "$got" | grep -c '^leaks\.[0-9]*\.txt$')" = 1 ] || fail "CPROF_LEAKS=$f: files $got" ;;
        *) [ "$got" = leaks.txt ] || fail "CPROF_LEAKS=$f: files $got" ;;
        esac
        for g in $got; do
            grep -Eq "$summary" "$tmp/$g" || fail "CPROF_LEAKS=$f: no summary in $g"
            rm "$tmp/$g"
        done
    done
    echo "CPROF_LEAKS=FILE (and FILE with %p): report in the file, stderr untouched, no temporary left"
    ;;
*)
    fail "unknown mode $mode"
    ;;
esac
