#!/bin/sh
# harmless.sh HARMLESS LIBCPROF MODE DLWORK — the CPU profiler stays out of
# the program's way: it adds no thread, forks cost no copy of its samples,
# it is quiet about signals, deep stacks keep both ends, and a dlclose'd
# library keeps its names.  go tool pprof reads every profile.
set -eu
prog=$1 lib=$2 mode=$3 dlwork=$4
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export HOME="${HOME:-$dir}"
fail() { echo "FAIL: $*" >&2; exit 1; }
top() { # top FILE → go tool pprof -top, failing loudly
  go tool pprof -top "$1" >"$dir/top.txt" 2>&1 || { cat "$dir/top.txt"; fail "pprof failed on $1"; }
  cat "$dir/top.txt"
}
has() { grep -q " $2\$" "$1" || { cat "$1"; fail "$1 lacks $2"; }; }
profiled() { env CPROF_CPU="$dir/cpu.pb.gz" LD_PRELOAD="$lib" "$@"; }

case $mode in
threads)
  # No helper thread: glibc keeps its single-thread fast paths.
  profiled "$prog" threads >"$dir/out"
  cat "$dir/out"
  grep -q '^Threads:[[:space:]]*1$' "$dir/out" || fail "the profiled program has more than one thread"
  top "$dir/cpu.pb.gz" >"$dir/t.txt"
  has "$dir/t.txt" burn
  # A user namespace can only be entered by a single-threaded process.
  if unshare -U -r true 2>/dev/null; then
    profiled unshare -U -r id -u >"$dir/id" 2>"$dir/err" || { cat "$dir/err"; fail "unshare -U under CPROF_CPU"; }
    [ "$(cat "$dir/id")" = 0 ] || fail "unshare -U -r id printed $(cat "$dir/id")"
    [ ! -s "$dir/err" ] || { cat "$dir/err"; fail "stderr not empty"; }
    echo "unshare -U -r under CPROF_CPU: ok"
  else
    echo "unshare -U not permitted here (without cprof either): checked Threads: 1 only"
  fi
  ;;
forkfaults)
  # A forked child takes no fault on the parent's sample pages: its minor
  # faults stay within a small constant of the unprofiled child's (a 2 MiB
  # reset would be 512 more).  The fewest of 5 children: plain, with the
  # library preloaded but not profiling (its own cost: each library's
  # destructor pages at exit), and profiling.
  plain=$("$prog" forkfaults 5)
  idle=$(env LD_PRELOAD="$lib" "$prog" forkfaults 5)
  prof=$(profiled "$prog" forkfaults 5)
  p=${plain#child_minflt=} i=${idle#child_minflt=} q=${prof#child_minflt=}
  echo "child minor faults: plain $p, preloaded $i, under CPROF_CPU $q"
  [ "$q" -le $((i + 16)) ] || fail "profiling adds $((q - i)) minor faults to a forked child (limit 16)"
  [ "$q" -le $((p + 128)) ] || fail "a profiled child takes $q minor faults, plain $p (limit +128)"
  top "$dir/cpu.pb.gz" >"$dir/t.txt"
  has "$dir/t.txt" burn
  ;;
quiet)
  # The program takes SIGPROF among every classic signal: its handler is
  # recorded behind cprof's (collect/sigfork.h), which keeps sampling on
  # SIGPROF without a word.
  profiled "$prog" allsig >"$dir/out" 2>"$dir/err"
  [ ! -s "$dir/err" ] || { cat "$dir/err"; fail "allsig: stderr not empty"; }
  top "$dir/cpu.pb.gz" >"$dir/t.txt"
  has "$dir/t.txt" after_allsig
  # Every signal taken, real-time ones too: the same, silently.
  profiled "$prog" allsig-rt >"$dir/out" 2>"$dir/err"
  [ ! -s "$dir/err" ] || { cat "$dir/err"; fail "allsig-rt: stderr not empty"; }
  top "$dir/cpu.pb.gz" >"$dir/t.txt"
  has "$dir/t.txt" after_allsig
  # ... and under a profiled shell, three such programs stay silent.
  env CPROF_CPU="$dir/cpu.%p.pb.gz" LD_PRELOAD="$lib" \
    sh -c "\"$prog\" allsig-rt; \"$prog\" allsig-rt & \"$prog\" allsig-rt; wait" >"$dir/out" 2>"$dir/err"
  cat "$dir/err"
  [ ! -s "$dir/err" ] || fail "the children of a profiled shell printed the notice"
  echo "quiet: ok"
  ;;
deep)
  # 1000 frames of recursion under the default depth (256): the leaf, the
  # root (main) and a marker saying exactly how many frames were left out.
  check_deep() { # DEPTH OUT PROFILE
    t=$(sed -n 's/^frames=//p' "$2")
    want=$((t - $1 + 1))
    go tool pprof -traces "$3" >"$dir/traces.txt" 2>&1 || { cat "$dir/traces.txt"; fail "pprof -traces"; }
    # One block per sample: first line has the value and the leaf; the
    # elided count is exact (the leaf is a pure loop, T frames deep).
    awk -v want="[$want frames elided]" '
      /^-+\+/ { if (inblk) check(); inblk = 1; n = 0; next }
      inblk && NF { line[++n] = $0 }
      END { if (inblk) check(); printf "deep samples %d, with marker %d, bad %d\n", deep, ok, bad;
            exit (deep > 0 && bad == 0) ? 0 : 1 }
      function check(   i, leaf, hasmain, hasrec, mark) {
        leaf = (line[1] ~ / deep_leaf$/); hasmain = 0; hasrec = 0; mark = ""
        for (i = 1; i <= n; i++) {
          s = line[i]; sub(/^ +/, "", s)
          if (i == 1) sub(/^[^ ]+ +/, "", s) # the value
          if (s == "main") hasmain = i
          if (s == "deep_rec") hasrec = 1
          if (s ~ /^\[[0-9]+\+? frames elided/) mark = s
        }
        if (!leaf || !hasrec) return # the calibration, before the recursion
        deep++
        if (mark == want && hasmain && hasrec) ok++; else { bad++; print "bad sample: marker \"" mark "\" want \"" want "\" main at " hasmain }
      }' "$dir/traces.txt" || { sed -n 1,40p "$dir/traces.txt"; fail "deep stacks lose an end or miscount"; }
  }
  profiled "$prog" deep 1000 >"$dir/out"
  cat "$dir/out"
  check_deep 256 "$dir/out" "$dir/cpu.pb.gz"
  # A depth of one's own; a malformed one is refused, naming the variable.
  env CPROF_STACK_DEPTH=64 CPROF_CPU="$dir/cpu64.pb.gz" LD_PRELOAD="$lib" "$prog" deep 1000 >"$dir/out"
  check_deep 64 "$dir/out" "$dir/cpu64.pb.gz"
  env CPROF_STACK_DEPTH=64k CPROF_CPU="$dir/cpubad.pb.gz" LD_PRELOAD="$lib" "$prog" deep 300 \
    >"$dir/out" 2>"$dir/err"
  cat "$dir/err"
  grep -q "CPROF_STACK_DEPTH=64k" "$dir/err" || fail "a bad CPROF_STACK_DEPTH is not reported"
  check_deep 256 "$dir/out" "$dir/cpubad.pb.gz"
  ;;
dlclose)
  # dl_burn ran in a library unloaded long before the profile was written.
  profiled "$prog" dlwork "$dlwork"
  top "$dir/cpu.pb.gz" >"$dir/t.txt"
  sed -n 1,10p "$dir/t.txt"
  has "$dir/t.txt" dl_burn
  has "$dir/t.txt" main_after_dlclose
  ;;
exec)
  # exec writes the samples taken before it; no timer signal follows the
  # process into sh (its default action would kill sh), even with two
  # threads spinning at 1000 Hz when the exec comes.
  i=0
  while [ $i -lt 5 ]; do
    rm -f "$dir/cpu.pb.gz"
    rc=0
    env CPROF_CPU="$dir/cpu.pb.gz" CPROF_CPU_HZ=1000 LD_PRELOAD="$lib" "$prog" exec || rc=$?
    [ $rc = 7 ] || fail "exec run $i: status $rc, want 7 (sh's)"
    i=$((i + 1))
  done
  top "$dir/cpu.pb.gz" >"$dir/t.txt"
  has "$dir/t.txt" before_exec_work
  has "$dir/t.txt" spinner
  # A failed exec carries on: the profile at exit holds both sides.
  profiled "$prog" exec-fails
  top "$dir/cpu.pb.gz" >"$dir/t.txt"
  has "$dir/t.txt" before_exec_work
  has "$dir/t.txt" after_failed_exec
  echo "exec: ok"
  ;;
startup)
  # A profile holds the CPU its process used before the profiler started
  # (the loader, other constructors) as [process start-up], and after an
  # exec the new image counts only what the old one's profile does not
  # hold: the two files add up to the kernel's clock for the process.
  ln -s "$(readlink -f "$prog")" "$dir/second"
  env CPROF_CPU="$dir/cpu.%c.pb.gz" LD_PRELOAD="$lib" "$prog" exec-chain "$dir/second" >"$dir/out"
  clock=$(sed -n 's/^process_cpu_ms=//p' "$dir/out")
  [ -n "$clock" ] || fail "no clock printed: $(cat "$dir/out")"
  ms() { # ms FILE [FOCUS] → CPU ms in the profile (or under FOCUS)
    go tool pprof -unit=ms -sample_index=cpu -top ${2:+-focus="$2"} "$1" 2>/dev/null |
      sed -n 's/.*accounting for \([0-9.]*\)ms, .*/\1/p' | cut -d. -f1
  }
  first=$(ms "$dir/cpu.harmless.pb.gz") second=$(ms "$dir/cpu.second.pb.gz")
  start2=$(ms "$dir/cpu.second.pb.gz" 'process start-up')
  echo "first image ${first}ms, second ${second}ms (start-up ${start2:-0}ms), process clock ${clock}ms"
  [ -n "$first" ] && [ -n "$second" ] || fail "a profile is missing or empty"
  sum=$((first + second))
  [ $((sum * 100)) -ge $((clock * 95)) ] && [ $((sum * 100)) -le $((clock * 105)) ] ||
    fail "profiles hold ${sum}ms, the process used ${clock}ms (want within 5%)"
  [ "${start2:-0}" -lt 100 ] || fail "the second image counts ${start2}ms start-up: the first image's CPU twice"
  top "$dir/cpu.second.pb.gz" >"$dir/t.txt"
  has "$dir/t.txt" second_image_work
  env CPROF_CPU="$dir/one.pb.gz" LD_PRELOAD="$lib" env >"$dir/env"
  ! grep -q CPROF_CPU_EXEC_NS "$dir/env" || fail "the hand-off variable reached the program"
  # bash (its own getenv) exec'd by a profiled image that wrote a profile:
  # no hand-off variable among its variables, CPROF_CPU still seen
  env CPROF_CPU="$dir/b.%c.pb.gz" CPROF_CPU_EXEC_NS="$$:5" LD_PRELOAD="$lib" \
    bash -c 'env | grep -c "^CPROF_CPU_EXEC_NS=" || true; echo "cpu=$CPROF_CPU"' >"$dir/bash.out"
  [ "$(head -1 "$dir/bash.out")" = 0 ] || fail "bash sees the hand-off variable: $(cat "$dir/bash.out")"
  grep -q "^cpu=$dir/b.%c.pb.gz\$" "$dir/bash.out" || fail "bash lost CPROF_CPU: $(cat "$dir/bash.out")"
  echo "startup: ok"
  ;;
shell)
  # bash replaces getenv/setenv with its own; the preload must not call
  # them in ways that hide CPROF_CPU from itself (a setenv in the
  # constructor once did: bash was never profiled).  bash's own loop, and
  # the 300-subshell loop of bench_fork.sh, each leave a profile.
  profiled bash -c 'i=0; while [ $i -lt 30000 ]; do i=$((i + 1)); done'
  top "$dir/cpu.pb.gz" >"$dir/t.txt"
  grep -q "Total samples = [1-9]" "$dir/t.txt" || { cat "$dir/t.txt"; fail "no samples of bash"; }
  rm -f "$dir/cpu.pb.gz"
  profiled bash -c 'i=0; while [ $i -lt 300 ]; do ( : ); i=$((i + 1)); done'
  top "$dir/cpu.pb.gz" >/dev/null
  echo "shell: ok"
  ;;
shortthreads)
  # 20 threads of 10 ms each at 1 Hz: almost none is ever sampled, yet the
  # profile holds their CPU (each thread's time since its last sample, or
  # all of it under the "[thread ran less than one sampling period]"
  # frame): its total is the process's CPU, less what was spent before the
  # profile started and after it stopped (a few ms).
  env CPROF_CPU="$dir/cpu.pb.gz" CPROF_CPU_HZ=1 LD_PRELOAD="$lib" "$prog" short-threads 20 10 >"$dir/out"
  want=$(sed -n 's/^process_cpu_ms=//p' "$dir/out")
  "$CPROF_BIN" top -unit=ms "$dir/cpu.pb.gz" >"$dir/t.txt" 2>&1 || { cat "$dir/t.txt"; fail "cprof top"; }
  got=$(sed -n 's/^Showing nodes accounting for .* of \([0-9.]*\)ms total$/\1/p' "$dir/t.txt")
  got=${got%.*}
  echo "short threads: profile ${got:-?} ms, process CPU $want ms"
  [ -n "$got" ] && [ "$got" -ge $((want * 9 / 10)) ] && [ "$got" -le $((want + 5)) ] ||
    { cat "$dir/t.txt"; fail "the profile holds ${got:-no} ms of the process's $want ms"; }
  grep -q 'thread ran less than one sampling period' "$dir/t.txt" ||
    { cat "$dir/t.txt"; fail "no frame for the unsampled threads"; }
  ;;
idlechild)
  # Per-process files ("%p"): a forked child that samples nothing writes
  # none (a shell's subshells would each create an empty file), one that
  # samples writes its own, and an exec'd program always writes (here
  # /bin/true, which bash -c execs in place of itself).  Heap the same: a
  # child that samples no allocation since the fork writes nothing (a 1 GB
  # mean interval and a fixed seed: no subshell's few KB are sampled).
  env CPROF_CPU="$dir/cpu.%p.pb.gz" CPROF_HEAP="$dir/heap.%p.pb.gz" CPROF_HEAP_RATE=1000000000 \
    CPROF_HEAP_SEED=1 LD_PRELOAD="$lib" \
    bash -c '(:); (:); (:); exec /bin/true'
  n=$(ls "$dir" | grep -c '^cpu\.') m=$(ls "$dir" | grep -c '^heap\.')
  [ "$n" = 1 ] && [ "$m" = 1 ] || { ls "$dir"; fail "idle subshells: want 1 CPU and 1 heap file (the exec'd program's), got $n and $m"; }
  rm -f "$dir"/cpu.* "$dir"/heap.*
  env CPROF_CPU="$dir/cpu.%p.pb.gz" LD_PRELOAD="$lib" \
    bash -c '(:); (i=0; while [ $i -lt 100000 ]; do i=$((i + 1)); done); exec /bin/true'
  n=$(ls "$dir" | grep -c '^cpu\.')
  [ "$n" = 2 ] || { ls "$dir"; fail "a busy subshell: want 2 CPU files, got $n"; }
  for f in "$dir"/cpu.*; do top "$f" >/dev/null; done
  echo "idlechild: ok"
  ;;
ownalloc)
  # The pthread_create wrapper's own 16-byte block is not the program's:
  # at heap rate 1 no allocation may have the wrapper as its innermost
  # frame (glibc's own, inside the real pthread_create, stay: they are
  # the program's thread creation).
  env CPROF_HEAP="$dir/heap.pb.gz" CPROF_HEAP_RATE=1 CPROF_CPU="$dir/cpu.pb.gz" LD_PRELOAD="$lib" \
    "$prog" spawn 50
  go tool pprof -traces -sample_index=alloc_objects "$dir/heap.pb.gz" >"$dir/traces.txt" 2>&1 ||
    { cat "$dir/traces.txt"; fail "pprof -traces"; }
  # after each separator (and its "bytes:" line): the value and the
  # innermost frame
  leafs=$(awk '/^-+\+/ { want = 1; next } want && !/bytes:/ { n = split($0, f, " "); print f[n]; want = 0 }' "$dir/traces.txt")
  if echo "$leafs" | grep -qx "pthread_create"; then
    cat "$dir/traces.txt"; fail "the wrapper's own block is charged to the program"
  fi
  grep -q "pthread_create" "$dir/traces.txt" || { cat "$dir/traces.txt"; fail "no thread creation in the heap profile at all"; }
  echo "ownalloc: ok"
  ;;
*) echo "unknown mode $mode"; exit 2 ;;
esac
