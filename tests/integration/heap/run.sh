#!/bin/sh
# run.sh MODE — heap profiler integration tests (meson suite `heap`).
# The environment names the binaries (see meson.build).  Each mode exits 0
# on success, 77 (meson's "skipped") when a tool it needs is missing.
set -eu
mode=$1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cprof-heap.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# Run "$@" with the profiler preloaded and CPROF_HEAP=$prof (plus whatever
# CPROF_* the caller exported).
profiled() { env LD_PRELOAD="$LIBCPROF" CPROF_HEAP="$prof" "$@"; }

# same_output NAME CMD...: stdout and exit status identical with and without
# the profiler at the default rate; the profile must be valid.
same_output() {
    name=$1; shift
    prof="$tmp/$name.pb.gz"
    set +e
    "$@" >"$tmp/$name.plain" 2>"$tmp/$name.plain.err"; st1=$?
    profiled "$@" >"$tmp/$name.prof" 2>"$tmp/$name.prof.err"; st2=$?
    set -e
    [ "$st1" = "$st2" ] || fail "$name: exit status $st1 plain, $st2 profiled"
    cmp -s "$tmp/$name.plain" "$tmp/$name.prof" || {
        diff "$tmp/$name.plain" "$tmp/$name.prof" | head -20; fail "$name: output differs"; }
    cmp -s "$tmp/$name.plain.err" "$tmp/$name.prof.err" || {
        diff "$tmp/$name.plain.err" "$tmp/$name.prof.err" | head -20; fail "$name: stderr differs"; }
    [ -s "$prof" ] || fail "$name: no profile written"
    "$HEAP_CHECK" valid "$prof" || fail "$name: invalid profile"
    echo "$name: identical output ($(wc -c <"$tmp/$name.plain") bytes), profile ok"
}

case "$mode" in
exact)
    prof="$tmp/exact.pb.gz"
    CPROF_HEAP_RATE=1 profiled "$HEAP_KNOWN" exact
    "$HEAP_CHECK" exact "$prof"
    # Linked with -lcprof: no LD_PRELOAD, the same figures.
    ldd "$HEAP_KNOWN_LINKED" | grep -q libcprof || fail "heap_known_linked does not link libcprof"
    prof="$tmp/linked.pb.gz"
    CPROF_HEAP="$prof" CPROF_HEAP_RATE=1 "$HEAP_KNOWN_LINKED" exact >/dev/null
    "$HEAP_CHECK" exact "$prof" >/dev/null || fail "linked: wrong figures"
    echo "linked with -lcprof: same exact figures"
    ;;
estimate)
    # A fixed seed makes the run reproducible; the check is the statistical
    # one (3 sigma) all the same.  Two seeds, two independent runs.
    for seed in 1 2; do
        prof="$tmp/estimate.$seed.pb.gz"
        CPROF_HEAP_SEED=$seed profiled "$HEAP_KNOWN" estimate
        echo "seed $seed:"
        "$HEAP_CHECK" estimate "$prof"
    done
    ;;
edge)
    "$HEAP_EDGE" >"$tmp/plain.txt"
    for rate in 1 524288; do
        prof="$tmp/edge.$rate.pb.gz"
        CPROF_HEAP_RATE=$rate profiled "$HEAP_EDGE" >"$tmp/prof.$rate.txt"
        diff -u "$tmp/plain.txt" "$tmp/prof.$rate.txt" || fail "edge cases differ at rate $rate"
        "$HEAP_CHECK" valid "$prof"
    done
    echo "edge cases identical to glibc's at rates 1 and 524288 ($(wc -l <"$tmp/plain.txt") lines)"
    ;;
real)
    # CPython running a script that allocates.
    cat >"$tmp/alloc.py" <<'PY'
import hashlib
d = {}
for i in range(200000):
    d["k%d" % i] = [i, str(i) * (i % 7), (i, i + 1)]
s = sorted(d.items(), key=lambda kv: (len(kv[1][1]), kv[0]))
h = hashlib.sha256()
for k, v in s[::97]:
    h.update(k.encode()); h.update(v[1].encode())
print(len(d), h.hexdigest())
PY
    same_output python3 python3 "$tmp/alloc.py"
    # sort and gzip on generated text.
    awk 'BEGIN { for (i = 0; i < 200000; i++) printf "%d line %x %s\n", (i * 7919) % 100003, i, substr("abcdefghijklmnopqrstuvwxyz", 1 + i % 26) }' >"$tmp/lines.txt"
    same_output sort sort -k2,2 -k1n "$tmp/lines.txt"
    CPROF_HEAP_RATE=1 same_output sort_rate1 sort -r "$tmp/lines.txt"
    same_output gzip sh -c "gzip -c -6 <'$tmp/lines.txt' | md5sum"
    prof="$tmp/gzip-self.pb.gz"
    # git: a repository built and read with fixed identities and dates.
    if command -v git >/dev/null 2>&1; then
        export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.org GIT_COMMITTER_NAME=t \
            GIT_COMMITTER_EMAIL=t@example.org GIT_AUTHOR_DATE='2020-01-01T00:00:00Z' \
            GIT_COMMITTER_DATE='2020-01-01T00:00:00Z' GIT_CONFIG_NOSYSTEM=1 HOME="$tmp"
        for r in a b; do
            repo="$tmp/repo-$r"
            mkdir "$repo"
            cp "$tmp/lines.txt" "$repo/lines.txt"
            if [ $r = a ]; then run=""; else run=profiled; fi
            prof="$tmp/git-$r.%p.pb.gz"
            (cd "$repo" && $run git init -q -b main . && $run git add lines.txt &&
             $run git commit -q -m one && sed -i 's/line/LINE/' lines.txt &&
             $run git commit -q -a -m two && $run git log --stat >../git-$r.log &&
             $run git diff HEAD~1 --stat >>../git-$r.log && $run git gc -q &&
             $run git rev-parse HEAD >>../git-$r.log)
        done
        cmp -s "$tmp/git-a.log" "$tmp/git-b.log" || fail "git: output differs"
        n=0
        for f in "$tmp"/git-b.*.pb.gz; do
            "$HEAP_CHECK" valid "$f" >/dev/null || fail "git: invalid profile $f"; n=$((n + 1))
        done
        [ $n -ge 6 ] || fail "git: only $n profiles written"
        echo "git: identical output, $n profiles (one per git process) valid"
    else
        fail "git is not installed (tools/deps.sh)"
    fi
    ;;
cxx)
    [ -n "$HEAP_CXX" ] || { echo "no C++ compiler: skipped"; exit 77; }
    same_output cxx "$HEAP_CXX"
    prof="$tmp/cxx1.pb.gz"
    CPROF_HEAP_RATE=1 profiled "$HEAP_CXX" >"$tmp/cxx1.out"
    cmp -s "$tmp/cxx.plain" "$tmp/cxx1.out" || fail "C++ output differs at rate 1"
    "$HEAP_CHECK" cxx "$prof"
    ;;
stress)
    prof="$tmp/stress.%p.pb.gz"
    out=$(CPROF_HEAP_RATE=256 profiled "$HEAP_STRESS")
    [ "$out" = ok ] || fail "stress: $out"
    n=0
    for f in "$tmp"/stress.*.pb.gz; do
        "$HEAP_CHECK" valid "$f" >/dev/null || fail "stress: invalid profile $f"
        n=$((n + 1))
    done
    [ $n -eq 4 ] || fail "stress: $n profiles, want 4 (parent and 3 children)"
    # A FILE without %p: children stay silent, the parent's file is its own.
    prof="$tmp/single.pb.gz"
    out=$(CPROF_HEAP_RATE=256 profiled "$HEAP_STRESS")
    [ "$out" = ok ] || fail "stress (single file): $out"
    "$HEAP_CHECK" valid "$prof" >/dev/null || fail "stress: invalid single profile"
    [ "$(ls "$tmp" | grep -c single)" = 1 ] || fail "stress: stray files: $(ls "$tmp")"
    # Leak report.
    err=$(CPROF_LEAKS=1 LD_PRELOAD="$LIBCPROF" "$HEAP_KNOWN" exact 2>&1 >/dev/null)
    echo "$err" | grep -q "LEAK SUMMARY: .* bytes in .* objects" || fail "no leak summary: $err"
    echo "$err" | grep -q "14400 bytes in 600 objects allocated from:" || fail "leak report: site_small missing: $err"
    echo "$err" | grep -A2 "14400 bytes in 600 objects" | grep -q "in site_small" ||
        fail "leak report: site_small not symbolized: $err"
    echo "stress: ok; leak report:"
    echo "$err" | head -12
    ;;
with_cpu)
    # CPU and heap profiles at once, every allocation sampled: the CPU
    # profiler's own memory (timers, drain thread's stack table, building and
    # symbolizing the profile at exit) must not show in the heap profile.
    prof="$tmp/both.heap.pb.gz"
    out=$(CPROF_HEAP_RATE=1 CPROF_CPU="$tmp/both.cpu.pb.gz" CPROF_CPU_HZ=1000 \
        profiled "$HEAP_STRESS")
    [ "$out" = ok ] || fail "with_cpu: $out"
    [ -s "$tmp/both.cpu.pb.gz" ] || fail "with_cpu: no CPU profile"
    "$CPROF" traces -sample_index=alloc_space "$prof" >"$tmp/traces.txt"
    grep -q "bytes:" "$tmp/traces.txt" || fail "with_cpu: no heap samples"
    if grep -E "^ +[^ ]+ +(cp_|cprof_)|^ {13}(cp_|cprof_)" "$tmp/traces.txt" | head -5 | grep .; then
        fail "with_cpu: the profiler's own allocations were sampled"
    fi
    echo "with_cpu: no profiler frames among $(grep -c "bytes:" "$tmp/traces.txt") heap stacks"
    ;;
pprof)
    command -v go >/dev/null 2>&1 || { echo "go not installed: skipped"; exit 77; }
    prof="$tmp/known.pb.gz"
    CPROF_HEAP_RATE=1 profiled "$HEAP_KNOWN" exact >/dev/null
    "$HEAP_CHECK" totals "$prof" >"$tmp/totals"
    i=1
    for si in alloc_objects alloc_space inuse_objects inuse_space; do
        want=$(sed -n "${i}p" "$tmp/totals")
        got=$(TZ=UTC HOME="$tmp" go tool pprof -top -sample_index=$si -unit=B "$prof" 2>&1 |
              sed -n 's/.* of \([0-9]*\)B total.*/\1/p')
        [ "$got" = "$want" ] || fail "go tool pprof $si total '$got', decoded '$want'"
        # cprof top must agree as well.
        "$CPROF" top -sample_index=$si -unit=B "$prof" >"$tmp/top.$si" 2>"$tmp/top.err" ||
            { cat "$tmp/top.err"; fail "cprof top -sample_index=$si failed"; }
        c=$(sed -n 's/.* of \([0-9]*\)B total.*/\1/p' "$tmp/top.$si")
        [ "$c" = "$want" ] || fail "cprof top $si total '$c', want '$want'"
        echo "$si: go tool pprof $got = decoded $want = cprof top $c"
        i=$((i + 1))
    done
    TZ=UTC HOME="$tmp" go tool pprof -top -sample_index=inuse_space "$prof" 2>&1 | grep -q site_small ||
        fail "go tool pprof does not show site_small"
    # cprof record --heap / --leaks set the same variables.
    CPROF_HEAP_RATE=1 "$CPROF" record --heap="$tmp/rec.pb.gz" -- "$HEAP_KNOWN" exact \
        >"$tmp/rec.out" 2>"$tmp/rec.err" || { cat "$tmp/rec.err"; fail "cprof record --heap failed"; }
    "$HEAP_CHECK" exact "$tmp/rec.pb.gz" >/dev/null || fail "cprof record --heap: wrong figures"
    "$CPROF" record --leaks -- "$HEAP_KNOWN" exact >/dev/null 2>"$tmp/leaks.err" ||
        fail "cprof record --leaks failed"
    grep -q "14400 bytes in 600 objects allocated from:" "$tmp/leaks.err" ||
        fail "cprof record --leaks: no leak report"
    echo "cprof record --heap: exact figures; --leaks: report printed"
    ;;
*)
    fail "unknown mode $mode"
    ;;
esac
