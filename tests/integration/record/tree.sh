#!/bin/sh
# tree.sh CPROF CHECK PROG_A PROG_B — `cprof record -- sh -c 'a | b'`
# follows both programs of the pipeline: one merged profile whose samples
# carry the right pid and comm labels, -tagfocus=comm= selects one program,
# and --per-process writes one file per process with its own total.
#
# Tolerance of a process's profiled CPU against its own getrusage: the
# profile misses the start-up before the timer is armed (ld.so, ~1 ms) and
# the tail after the last tick (under one 10 ms period at 100 Hz), so 30 ms
# (three periods) plus 5% for a loaded machine; the pids and names are exact.
set -u
cprof=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
abs() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }
check=$(abs "$2") a=$(abs "$3") b=$(abs "$4")
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir"
mkdir tmp
export TMPDIR="$dir/tmp"
fail() { echo "FAIL: $*"; [ -f err.txt ] && sed 's/^/  stderr: /' err.txt; exit 1; }
# near WANT_NS GOT_NS: within 30 ms + 5% of WANT
near() { d=$(( $2 - $1 )); [ $d -lt 0 ] && d=$(( -d )); [ $d -le $(( 30000000 + $1 / 20 )) ]; }

"$cprof" record -o m.pb.gz -- sh -c "'$a' 0.4 a.txt | '$b' 0.3 b.txt read" >out.txt 2>err.txt ||
  fail "record exited $?"
read pa ca <a.txt || fail "prog_a did not run"
read pb cb <b.txt || fail "prog_b did not run"
[ "$(cat out.txt)" = "read $(printf 'hello from %s\n' "$pa" | wc -c | tr -d ' ') bytes" ] ||
  fail "stdout of the pipeline changed: $(cat out.txt)"
[ -z "$(ls tmp)" ] || fail "the private directory was not removed: $(ls tmp)"
"$check" labels m.pb.gz >labels.txt || fail "cannot read the merged profile"
cat labels.txt
[ "$(grep -vc '^total' labels.txt)" = 2 ] || fail "want exactly the two programs' samples"
grep -q "^$pa prog_a " labels.txt || fail "no samples with pid=$pa comm=prog_a"
grep -q "^$pb prog_b " labels.txt || fail "no samples with pid=$pb comm=prog_b"
read -r _ _ sa na <<EOF2
$(grep "^$pa " labels.txt)
EOF2
read -r _ _ sb nb <<EOF2
$(grep "^$pb " labels.txt)
EOF2
near "$ca" "$na" || fail "prog_a: profile holds $na ns, it used $ca ns"
near "$cb" "$nb" || fail "prog_b: profile holds $nb ns, it used $cb ns"
grep -Eq "^cprof: m\.pb\.gz: [0-9]+\.[0-9]{2} s CPU in 2 processes \(the command used [0-9]+\.[0-9]{2} s\)$" err.txt ||
  fail "no summary line"

# -tagfocus=comm=prog_a keeps prog_a's samples and stack only
"$cprof" proto -tagfocus=comm=prog_a -o fa.pb.gz m.pb.gz 2>/dev/null || fail "proto -tagfocus"
"$check" labels fa.pb.gz >fa.txt
[ "$(cat fa.txt)" = "$(grep "^$pa " labels.txt)
total $sa $na" ] || fail "-tagfocus=comm=prog_a kept: $(cat fa.txt)"
"$cprof" top -tagfocus=comm=prog_b m.pb.gz >top.txt 2>&1 || fail "top -tagfocus"
grep -q work_b top.txt || fail "prog_b's function missing from its focus"
grep -q work_a top.txt && fail "prog_a's function under comm=prog_b"
"$cprof" tags m.pb.gz >tags.txt 2>&1 || fail "tags"
grep -q 'prog_a' tags.txt && grep -q "$pb" tags.txt || fail "tags lacks comm or pid: $(cat tags.txt)"

# heap profiles are merged and labelled the same way (every allocation
# sampled: each program's stdio buffers are in it)
mkdir heap && cd heap
CPROF_HEAP_RATE=1 "$cprof" record --heap=h.pb.gz -- sh -c "'$a' 0.01 a.txt | '$b' 0.01 b.txt read" >/dev/null 2>err.txt ||
  fail "record --heap exited $?"
read pa ca <a.txt && read pb cb <b.txt || fail "the programs did not run"
"$cprof" tags -sample_index=alloc_objects h.pb.gz >tags.txt 2>&1 || fail "tags of the heap profile"
for want in "prog_a" "prog_b" "$pa" "$pb"; do
  grep -Eq "^ +[0-9.]+ \( *[0-9.]+%\): $want\$" tags.txt || fail "heap profile lacks label $want: $(cat tags.txt)"
done
grep -Eq "^cprof: h\.pb\.gz: [0-9.]+ MB in [1-9][0-9]* objects allocated \(estimated from samples\) in 2 processes$" err.txt ||
  fail "no heap summary line"
cd ..

# --per-process: one file per process, named by pid and program
mkdir pp && cd pp
"$cprof" record --per-process -o pp.pb.gz -- sh -c "'$a' 0.3 a.txt | '$b' 0.2 b.txt read" >/dev/null 2>err.txt ||
  fail "record --per-process exited $?"
read pa ca <a.txt && read pb cb <b.txt || fail "the programs did not run"
for f in "pp.$pa.prog_a.pb.gz:$pa:prog_a:$ca" "pp.$pb.prog_b.pb.gz:$pb:prog_b:$cb"; do
  IFS=: read -r name pid comm used <<EOF2
$f
EOF2
  [ -f "$name" ] || fail "no $name: $(ls)"
  "$check" labels "$name" >l.txt || fail "cannot read $name"
  [ "$(grep -vc '^total' l.txt)" = 1 ] && grep -q "^$pid $comm " l.txt || fail "$name holds $(cat l.txt)"
  read -r _ _ _ got <l.txt
  near "$used" "$got" || fail "$name: $got ns, the process used $used ns"
done
# the shell writes a file too if it exits through exit(); dash does not
for f in pp.*.pb.gz; do
  case $f in pp.$pa.prog_a.pb.gz | pp.$pb.prog_b.pb.gz | pp.*.sh.pb.gz | pp.*.bash.pb.gz | pp.*.dash.pb.gz) ;;
    *) fail "unexpected file $f" ;;
  esac
done
grep -Eq "^cprof: CPU profiles: [23] files named $dir/pp/pp\.PID\.COMM\.pb\.gz$" err.txt &&
  grep -Eq "^cprof: pp\.PID\.COMM\.pb\.gz: [0-9.]+ s CPU in [23] processes" err.txt || fail "per-process names not said"
echo "tree: ok"
