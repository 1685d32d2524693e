#!/bin/sh
# dlopen.sh PROG LIBCPROF CPROF — libcprof.so loaded with dlopen (see
# dlopen_lib.c) profiles the program's later work and leaves it intact.
set -eu
prog=$1 lib=$2 cprof=$3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$prog" "$(readlink -f "$lib")" "$dir/cpu.pb.gz" >"$dir/out" 2>"$dir/err" ||
  { cat "$dir/out" "$dir/err"; echo "FAIL: dlopen_lib exited $?"; exit 1; }
cat "$dir/out"
grep -q '^dlopen: ok$' "$dir/out" || { echo "FAIL: no ok"; exit 1; }
"$cprof" top "$dir/cpu.pb.gz" >"$dir/top" 2>&1 || { cat "$dir/top"; echo "FAIL: cprof top"; exit 1; }
grep -q ' late_work$' "$dir/top" || { cat "$dir/top"; echo "FAIL: late_work not in the profile"; exit 1; }
echo "dlopen: profile names late_work"
