#!/bin/sh
# threads.sh PROG LIB CPROF — the threads and threadcreate profiles.
#  known: 6 threads parked in known functions (3 in park_cond, one of them
#    labelled route=/x, 2 in park_read, 1 with every signal blocked) plus
#    main: exact counts by stack with cprof and go tool pprof, the blocked
#    one counted under the marker frame, tids and names in the text dump,
#    6 threads created by spawn_parked in the threadcreate profile.
#  storm: snapshots while threads are created and exit as fast as they
#    can, with the CPU profiler running too: no crash, no hang, every
#    profile opens, each text's count matches its profile.
#  owned, takeover: a program that handles the profiler's signal keeps it.
#  exit: CPROF_THREADS=FILE under LD_PRELOAD writes the three files at exit;
#    cprof record --threads merges them.
set -eu
abs() { case $1 in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
prog=$(abs "$1") lib=$(abs "$2") cprof=$(abs "$3")
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export HOME="${HOME:-$dir}"
fail() { echo "FAIL: $*"; exit 1; }
shown() { # TOOL FILE FLAGS...: the total of the samples the filters keep
  tool=$1 file=$2; shift 2
  if [ "$tool" = go ]; then go tool pprof -top -nodefraction=0 "$@" "$file" 2>&1
  else "$cprof" top -nodefraction=0 "$@" "$file"; fi |
    sed -n 's/^Showing nodes accounting for \([0-9]*\),.*/\1/p'
}

# CPROF_THREADS turns on the creation stacks from the start (without it
# they are kept from the first snapshot on)
out=$(CPROF_THREADS="$dir/atexit.pb.gz" "$prog" known "$dir/threads.pb.gz")
echo "$out"
t="$dir/threads.pb.gz" c="$dir/threads.threadcreate.pb.gz" txt="$dir/threads.txt"
for tool in cprof go; do
  [ "$(shown $tool "$t")" = 7 ] || fail "$tool: total $(shown $tool "$t"), want 7"
  [ "$(shown $tool "$t" -focus=park_cond)" = 3 ] || fail "$tool: park_cond"
  [ "$(shown $tool "$t" -focus=park_read)" = 2 ] || fail "$tool: park_read"
  [ "$(shown $tool "$t" -tagfocus=route=/x)" = 1 ] || fail "$tool: route=/x"
  [ "$(shown $tool "$t" -focus='signal blocked')" = 1 ] || fail "$tool: blocked marker"
  [ "$(shown $tool "$t" -focus='^main$')" = 1 ] || fail "$tool: main"
  [ "$(shown $tool "$c" -focus=spawn_parked)" = 6 ] || fail "$tool: threadcreate"
done
go tool pprof -raw "$t" >/dev/null 2>&1 || fail "go tool pprof -raw threads"
go tool pprof -raw "$c" >/dev/null 2>&1 || fail "go tool pprof -raw threadcreate"
head -1 "$txt" | grep -qx 'threads: 7 (not sampled: 1; exited while asked: 0)' || fail "text header"
echo "$out" | grep -E '^(cond|read|blocked|main)' | while IFS== read -r name tid; do
  [ "$name" = main ] && name=$(basename "$prog" | cut -c1-15)
  grep -q "^thread $tid \"$name\" \[" "$txt" || fail "text: no thread $tid \"$name\""
done
grep -A1 '"cond-x"' "$txt" | grep -q '^labels: {"route":"/x"}' || fail "text: labels"
grep -A1 '"blocked"' "$txt" | grep -q 'signal blocked' || fail "text: blocked"
[ "$(grep -c '^created by spawn_parked()' "$txt")" = 6 ] || fail "text: created by"
[ "$(grep -c '^park_cond()' "$txt")" = 3 ] || fail "text: park_cond frames"

# storm, with the CPU profiler on at the same time
out=$(CPROF_CPU="$dir/cpu.pb.gz" LD_PRELOAD="$lib" timeout 60 "$prog" storm "$dir/s" 20) ||
  fail "storm: exit $?"
echo "$out"
go tool pprof -raw "$dir/cpu.pb.gz" >/dev/null 2>&1 || fail "storm: CPU profile"
skipped=0
for i in $(seq 0 19); do
  f="$dir/s-$i.pb.gz"
  n=$(sed -n 's/^threads: \([0-9]*\) (not sampled: \([0-9]*\); exited while asked: \([0-9]*\))$/\1 \2 \3/p' "$dir/s-$i.txt")
  set -- $n
  [ "$(shown cprof "$f")" = "$1" ] || fail "storm $i: profile total $(shown cprof "$f"), text $1"
  [ "$(grep -c '^thread [0-9]* "' "$dir/s-$i.txt")" = "$1" ] || fail "storm $i: stanzas"
  skipped=$((skipped + $2 + $3))
done
go tool pprof -raw "$dir/s-19.pb.gz" >/dev/null 2>&1 || fail "storm: go tool pprof"
go tool pprof -raw "$dir/s-19.threadcreate.pb.gz" >/dev/null 2>&1 || fail "storm: threadcreate"
echo "storm: threads skipped (exited or blocking) over 20 snapshots: $skipped"

# at exit, from the environment
CPROF_THREADS="$dir/exit.%p.pb.gz" LD_PRELOAD="$lib" "$prog" known "$dir/x.pb.gz" >/dev/null
set -- "$dir"/exit.*.txt
head -1 "$1" | grep -qx 'threads: 1 (not sampled: 0; exited while asked: 0)' || fail "exit: $(head -1 "$1")"
[ -f "${1%.txt}.pb.gz" ] && [ -f "${1%.txt}.threadcreate.pb.gz" ] || fail "exit: files"

# the program's own handler for the signal wins, before or after a snapshot
for mode in owned takeover; do
  out=$("$prog" $mode "$dir/o.pb.gz") || fail "$mode: $out"
  echo "$mode: $out" | tr '\n' ' '; echo
done

# cprof record --threads: each process's at-exit profiles, merged and labelled
(cd "$dir" && "$cprof" record --threads="$dir/rec.pb.gz" -- "$prog" known "$dir/y.pb.gz" \
  >/dev/null 2>"$dir/rec.err") || { cat "$dir/rec.err"; fail "record --threads"; }
for f in rec.pb.gz rec.threadcreate.pb.gz; do
  go tool pprof -raw "$dir/$f" >/dev/null 2>&1 || fail "record: $f"
done
"$cprof" tags "$dir/rec.pb.gz" | grep -q 'comm' || fail "record: no comm label"
[ "$(shown cprof "$dir/rec.pb.gz")" = 1 ] || fail "record: want the main thread at exit"
echo ok
