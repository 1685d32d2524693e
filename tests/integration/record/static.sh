#!/bin/sh
# static.sh CPROF PROG_STATIC — a statically linked program cannot load the
# preload: record names it as unprofiled (pid, path, why), says how much CPU
# the command used, and passes the exit status through; also when the
# program runs under a shell.
set -u
cprof=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
prog=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir"
fail() { echo "FAIL: $*"; sed 's/^/  stderr: /' err.txt; exit 1; }

"$cprof" record -o s.pb.gz -- "$prog" 0.2 s.txt >out.txt 2>err.txt; rc=$?
[ $rc = 0 ] || fail "exit status $rc, want 0"
read pid used <s.txt || fail "the program did not run"
[ "$(cat out.txt)" = "hello from $pid" ] || fail "stdout: $(cat out.txt)"
cat err.txt
grep -q "^cprof:   pid $pid prog_static $prog: no profile, 0\.[0-9][0-9] s CPU seen: statically linked: LD_PRELOAD cannot enter it$" err.txt ||
  fail "the static program is not named as unprofiled"
grep -Eq "^cprof: the command used 0\.[1-9][0-9] s of CPU and none of its processes wrote a profile" err.txt ||
  fail "the CPU the command used is not compared"
[ -f s.pb.gz ] && fail "a profile was written although no process wrote one"

# under a shell that exits with its own status after it
"$cprof" record -o s.pb.gz -- sh -c "'$prog' 0.2 s.txt; exit 3" >/dev/null 2>err.txt; rc=$?
[ $rc = 3 ] || fail "exit status $rc, want 3"
read pid used <s.txt || fail "the program did not run"
grep -q "^cprof:   pid $pid prog_static $prog: no profile, 0\.[0-9][0-9] s CPU seen: statically linked" err.txt ||
  fail "the static child of the shell is not named"

# next to a profiled program: the merged profile also holds the static
# program's CPU (what /proc showed), labelled with its pid and name, under
# a frame that says why it has no stack
"$cprof" record -o s.pb.gz -- sh -c "'$prog' 0.3 s.txt; '$PROG_A' 0.2 a.txt" >/dev/null 2>err.txt ||
  fail "record with a static and a dynamic program"
read pid used <s.txt || fail "the program did not run"
grep -q "^cprof: it also holds 0\.[0-9][0-9] s of CPU of 1 process the preload did not enter" err.txt ||
  fail "the summary does not count the unprofiled process"
"$cprof" top -tagfocus=comm=prog_static s.pb.gz >top.txt 2>&1 || fail "cprof top"
grep -Eq '^ +[1-9][0-9]*ms .*\[not profiled: statically linked\]$' top.txt ||
  { cat top.txt; fail "no [not profiled: statically linked] frame for prog_static"; }
"$cprof" tags -tagfocus=pid="$pid" s.pb.gz | grep -q 'prog_static' ||
  fail "the unprofiled sample is not labelled with its pid and comm"
echo "static: ok"
