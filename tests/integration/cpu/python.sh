#!/bin/sh
# python.sh CPROF CPUCHECK — CPython running a recursive function under
# `cprof record`: the program's output is unchanged, the profile's total is
# within 10% of the process's rusage, >= 95% of samples reach main /
# Py_BytesMain (python3 has no frame pointers: this needs CFI unwinding),
# and the eval loop is named.
set -eu
cprof=$1 check=$2
# The system's python3, not a version manager's shim: a shim runs other
# processes first, whose CPU the merged profile holds and python's own
# rusage does not.
py=/usr/bin/python3
[ -x "$py" ] || { echo "python3 missing (tools/deps.sh installs it)"; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export HOME="${HOME:-$dir}"
cat >"$dir/fib.py" <<'PY'
import sys, resource
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)
print("fib(%s) = %d" % (sys.argv[1], fib(int(sys.argv[1]))))
r = resource.getrusage(resource.RUSAGE_SELF)
open(sys.argv[2], "w").write("%d\n" % int((r.ru_utime + r.ru_stime) * 1e9))
PY
"$py" "$dir/fib.py" 34 "$dir/ru0" >"$dir/plain.out"
"$cprof" record --hz 250 -o "$dir/py.pb.gz" -- "$py" "$dir/fib.py" 34 "$dir/ru" \
  >"$dir/prof.out" 2>"$dir/record.err" || { cat "$dir/record.err"; exit 1; }
cmp "$dir/plain.out" "$dir/prof.out" || { echo "FAIL: output changed under cprof record"; exit 1; }
grep -q "cprof: CPU profile: $dir/py.pb.gz" "$dir/record.err" || { cat "$dir/record.err"; exit 1; }
"$check" "$dir/py.pb.gz" --total-ns "$(cat "$dir/ru")" --total-tol 0.10 \
  --complete main,Py_BytesMain --min-complete 0.95 --has _PyEval_EvalFrameDefault
go tool pprof -top "$dir/py.pb.gz" >"$dir/top.txt" 2>&1 || { cat "$dir/top.txt"; exit 1; }
grep -q "_PyEval_EvalFrameDefault" "$dir/top.txt" || { cat "$dir/top.txt"; exit 1; }
sed -n '1,14p' "$dir/top.txt"
