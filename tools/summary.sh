#!/bin/sh
# summary.sh BUILDDIR... — one closing line over every meson test run of
# `make check` ("check: N passed, N failed, N skipped"), read from each
# build directory's meson-logs/testlog.json.
pass=0 fail=0 skip=0
for d in "$@"; do
  f="$d/meson-logs/testlog.json"
  [ -f "$f" ] || continue
  set -- $(grep -o '"result": "[A-Z]*"' "$f" | awk '
    /"OK"|"EXPECTEDFAIL"/ { p++ } /"SKIP"/ { s++ } /"FAIL"|"TIMEOUT"|"ERROR"|"UNEXPECTEDPASS"/ { x++ }
    END { print p + 0, x + 0, s + 0 }')
  pass=$((pass + $1)) fail=$((fail + $2)) skip=$((skip + $3))
done
echo "check: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
