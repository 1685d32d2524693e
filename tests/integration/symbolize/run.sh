#!/bin/sh
# run.sh CPROF SYMDUMP — `cprof symbolize` end to end, go tool pprof as the
# reader: a profile of bare addresses gets names, lines and inline frames;
# pprof -top and -list show them; -o and in-place writing both work; a
# corrupt input fails cleanly.
set -eu
CPROF=$1
SYMDUMP=$2
export TZ=UTC DEBUGINFOD_URLS=
T=$(mktemp -d /tmp/cprof-symint.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

eval "$("$SYMDUMP" "$T/raw.pb.gz")"
[ -s "$T/raw.pb.gz" ] || fail "symdump wrote nothing"

PPROF="go tool pprof -symbolize=none"
# Before: pprof has only addresses for our code.
$PPROF -top "$T/raw.pb.gz" >"$T/raw.top" 2>&1 || fail "pprof cannot read the raw profile: $(cat "$T/raw.top")"
if grep -q symfix_static "$T/raw.top"; then fail "raw profile already has names"; fi

# -o OUT leaves the input alone.
"$CPROF" symbolize -o "$T/sym.pb.gz" "$T/raw.pb.gz" 2>"$T/sym.err" || fail "symbolize: $(cat "$T/sym.err")"
cat "$T/sym.err"
grep -q "locations got names" "$T/sym.err" || fail "no summary line"
cmp -s "$T/raw.pb.gz" "$T/sym.pb.gz" && fail "output equals input"

$PPROF -top "$T/sym.pb.gz" >"$T/sym.top" 2>&1 || fail "pprof cannot read the symbolized profile"
cat "$T/sym.top"
for name in symfix_inl symfix_outer symfix_static qsort; do
  grep -q " $name\b" "$T/sym.top" || fail "-top does not show $name"
done
if [ -n "${cpp_line:-}" ] && [ "$cpp_line" != 0 ]; then
  grep -q "symfix::Widget::frob" "$T/sym.top" || fail "-top does not show the C++ method"
fi
# The inlined function's flat weight is exactly its sample's.
awk '$6 == "symfix_inl" && $1 == "40" {ok=1} END {exit !ok}' "$T/sym.top" \
  || fail "symfix_inl should have flat 40"
# Its caller gets it as cumulative weight only.
awk '$6 == "symfix_outer" && $1 == "0" && $4 == "40" {ok=1} END {exit !ok}' "$T/sym.top" \
  || fail "symfix_outer should have flat 0, cum 40"

# -list finds the source and puts the weight on the recorded lines.
$PPROF -list '^symfix_static$' "$T/sym.pb.gz" >"$T/static.list" 2>&1 || fail "-list failed"
cat "$T/static.list"
grep -q "ROUTINE.*symfix_static.*symfix.c" "$T/static.list" || fail "-list has no routine header"
grep -Eq "^ +30 +30 +$static_line:" "$T/static.list" || fail "-list: 30 not on line $static_line"
$PPROF -list '^symfix_outer$' "$T/sym.pb.gz" >"$T/outer.list" 2>&1 || fail "-list outer failed"
grep -Eq "^ +\. +40 +$outer_line:" "$T/outer.list" || fail "-list: cum 40 not on line $outer_line"

# In place (the default): same bytes as -o wrote.
cp "$T/raw.pb.gz" "$T/inplace.pb.gz"
"$CPROF" symbolize -q "$T/inplace.pb.gz" || fail "in-place symbolize failed"
$PPROF -top "$T/inplace.pb.gz" | grep -q symfix_static || fail "in-place output has no names"

# Errors: unreadable input → status 1, message, no output file.
printf 'not a profile' >"$T/bad.pb.gz"
if "$CPROF" symbolize -o "$T/bad.out" "$T/bad.pb.gz" 2>"$T/bad.err"; then fail "bad input accepted"; fi
grep -q "cprof:" "$T/bad.err" || fail "no error message"
[ ! -e "$T/bad.out" ] || fail "output written for bad input"
# Usage error → status 2.
set +e; "$CPROF" symbolize 2>/dev/null; st=$?; set -e
[ "$st" = 2 ] || fail "usage error should exit 2, got $st"
echo "symbolize integration: ok"
