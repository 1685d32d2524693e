#!/bin/sh
# cxx.sh CXX CPUCHECK LIBCPROF — a C++ program profiled under the preload:
# demangled name in `name`, mangled in `system_name`, readable by pprof.
set -eu
prog=$1 check=$2 lib=$3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export HOME="${HOME:-$dir}"
CPROF_CPU="$dir/cpu.pb.gz" LD_PRELOAD="$lib" "$prog" >/dev/null
# The program loads no C++ runtime, so the process itself cannot demangle
# (it never dlopens one at exit): `cprof symbolize` does, with DWARF.
"$(dirname "$lib")/cprof" symbolize -q "$dir/cpu.pb.gz"
"$check" "$dir/cpu.pb.gz" --has 'shapes::Widget<unsigned long>::spin(long)' \
  --has-system _ZN6shapes6WidgetImE4spinEl --complete main --min-complete 0.99
go tool pprof -top "$dir/cpu.pb.gz" >"$dir/top.txt" 2>&1 || { cat "$dir/top.txt"; exit 1; }
grep -q 'shapes::Widget<unsigned long>::spin' "$dir/top.txt" || { cat "$dir/top.txt"; exit 1; }
echo "cxx: ok"
