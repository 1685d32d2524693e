#!/bin/sh
# record.sh CPROF — `cprof record` passes stdin, stdout and exit status
# through, maps death by signal to 128+N, and sets the CPROF_* variables
# (each process writes into a private directory under TMPDIR, removed at
# the end; the merged profile goes where it was asked).
set -u
cprof=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir"
mkdir tmp
export TMPDIR="$dir/tmp"
fail() { echo "FAIL: $*"; exit 1; }

"$cprof" record -o a.pb.gz -- sh -c 'exit 7' 2>/dev/null; rc=$?
[ $rc = 7 ] || fail "exit status 7 came back as $rc"
"$cprof" record -o a.pb.gz -- sh -c 'kill -TERM $$' 2>/dev/null; rc=$?
[ $rc = 143 ] || fail "death by SIGTERM came back as $rc, want 143"
out=$(printf 'hello\nworld\n' | "$cprof" record -o a.pb.gz -- cat 2>/dev/null)
[ "$out" = "$(printf 'hello\nworld')" ] || fail "stdin/stdout not passed through: $out"
# SIGTERM to record reaches the program; record still cleans up
"$cprof" record -o a.pb.gz -- sh -c 'echo >ready; exec sleep 30' 2>/dev/null & rp=$!
n=0; while [ ! -f ready ] && [ $n -lt 300 ]; do sleep 0.1; n=$((n + 1)); done
kill -TERM $rp; wait $rp; rc=$?
[ $rc = 143 ] || fail "SIGTERM to record came back as $rc, want 143"
[ -z "$(ls tmp)" ] || fail "the private directory stayed after SIGTERM: $(ls tmp)"
# an ignored SIGHUP (nohup) stays ignored in the program
out=$(nohup "$cprof" record -o a.pb.gz -- sh -c 'kill -HUP $$; echo survived' 2>/dev/null)
[ "$out" = survived ] || fail "SIGHUP ignored by nohup was not ignored in the program"
"$cprof" record -o a.pb.gz -- /nonexistent/prog 2>/dev/null; rc=$?
[ $rc = 127 ] || fail "missing program gave $rc, want 127"
"$cprof" record --bogus -- true 2>/dev/null; rc=$?
[ $rc = 2 ] || fail "bad flag gave $rc, want 2"

"$cprof" record --heap=h.pb.gz --hz 500 -- env >env.txt 2>/dev/null || fail "record env"
for want in "CPROF_HEAP=$dir/tmp/cprof-record\.[A-Za-z0-9]*/%p\.%c\.heap\.pb\.gz" "CPROF_CPU_HZ=500"; do
  grep -qx "$want" env.txt || fail "env lacks $want"
done
[ -f h.pb.gz ] || fail "no merged heap profile h.pb.gz"
[ -z "$(ls tmp)" ] || fail "the private directory was not removed: $(ls tmp)"
# Types this version does not collect are refused, not silently dropped.
for t in --threads; do
  "$cprof" record $t -- true 2>/dev/null; rc=$?
  [ $rc = 2 ] || fail "record $t gave $rc, want 2 (not collected yet)"
done
grep -q '^CPROF_CPU=' env.txt && fail "CPU profile set although only other types were asked"
grep -q '^LD_PRELOAD=.*libcprof\.so' env.txt || fail "LD_PRELOAD lacks libcprof.so"
"$cprof" record --leaks -- env >env.txt 2>/dev/null
grep -qx "CPROF_LEAKS=1" env.txt || fail "--leaks does not set CPROF_LEAKS=1"
"$cprof" record -- env >env.txt 2>/dev/null
grep -qx "CPROF_CPU=$dir/tmp/cprof-record\.[A-Za-z0-9]*/%p\.%c\.cpu\.pb\.gz" env.txt ||
  fail "CPU profiles of the tree not written into the private directory"
[ -f cpu.pb.gz ] || fail "default CPU profile cpu.pb.gz not written"
echo "record: ok"
