#!/bin/sh
# exit.sh CPROF LIBCPROF EXITBUSY STRIPLIB — what a profiled process writes
# at exit, and what `cprof symbolize` adds to it.
# In-process (LD_PRELOAD, CPROF_CPU): ELF names only — the static function
# spin_static from .symtab, plt_noop@plt for the PLT stub, and
# libexitstrip-stripped.so+0x… for the stripped library's static code;
# build ids on every mapping, which says functions but no lines.  Then
# `cprof symbolize` adds file:line (pprof -list finds exitbusy.c), keeps
# the PLT and offset names, and a second run answers from the build-id cache.
set -eu
CPROF=$1 LIB=$2 BUSY=$3 STRIP=$4
T=$(mktemp -d /tmp/cprof-exit.XXXXXX)
trap 'rm -rf "$T"' EXIT
export TZ=UTC HOME="$T" XDG_CACHE_HOME="$T/cache" DEBUGINFOD_URLS=
fail() { echo "FAIL: $*" >&2; exit 1; }

out=$(CPROF_CPU="$T/cpu.pb.gz" CPROF_CPU_HZ=1000 LD_PRELOAD="$LIB" "$BUSY" "$STRIP")
[ "$out" = "exitbusy: done" ] || fail "program output changed: $out"
[ -s "$T/cpu.pb.gz" ] || fail "no profile written"

PPROF="go tool pprof -symbolize=none"
$PPROF -top -nodecount=1000 "$T/cpu.pb.gz" >"$T/top" 2>&1 || fail "pprof: $(cat "$T/top")"
cat "$T/top" | head -20
grep -Eq " spin_static$" "$T/top" || fail "no spin_static (a static function, from .symtab)"
grep -Eq " plt_noop@plt$" "$T/top" || fail "no plt_noop@plt (the PLT stub)"
grep -Eq " libexitstrip-stripped\.so\+0x[0-9a-f]+$" "$T/top" ||
  fail "no libexitstrip-stripped.so+0x… (stripped code no symbol covers)"
if grep -q "exitbusy.c" "$T/top"; then fail "the process wrote file names"; fi

# Mappings: every one has a build id (as readelf says) and only functions.
$PPROF -raw "$T/cpu.pb.gz" >"$T/raw" 2>&1 || fail "pprof -raw"
sed -n '/^Mappings/,$p' "$T/raw" >"$T/maps"
cat "$T/maps"
nmaps=$(grep -c '^[0-9]*: ' "$T/maps" || true)
[ "$nmaps" -ge 3 ] || fail "want >= 3 mappings (program, libexitplt, stripped lib, libc), got $nmaps"
while read -r n range off path rest; do
  case "$path" in /*) ;; *) continue ;; esac
  want=$(readelf -n "$path" 2>/dev/null | awk '/Build ID/ {print $3}')
  [ -n "$want" ] || continue
  echo "$rest" | grep -q "$want" || fail "mapping $path lacks build id $want: $rest"
  echo "$rest" | grep -q "\[FN\]" || fail "mapping $path should say [FN] only: $rest"
done <<EOM
$(grep '^[0-9]*: ' "$T/maps")
EOM

# Outside the process: lines added, ELF names DWARF cannot better kept.
"$CPROF" symbolize -o "$T/sym.pb.gz" "$T/cpu.pb.gz" 2>"$T/sym1.err" || fail "symbolize: $(cat "$T/sym1.err")"
cat "$T/sym1.err"
grep -q "cache: 0 hits" "$T/sym1.err" || fail "first run should miss the cache"
$PPROF -list '^spin_static$' "$T/sym.pb.gz" >"$T/list" 2>&1 || fail "-list: $(cat "$T/list")"
grep -q "ROUTINE.*spin_static.*exitbusy.c" "$T/list" || fail "-list has no exitbusy.c: $(cat "$T/list")"
$PPROF -top -nodecount=1000 "$T/sym.pb.gz" >"$T/symtop" 2>&1
grep -Eq " plt_noop@plt$" "$T/symtop" || fail "symbolize lost plt_noop@plt"
grep -Eq " libexitstrip-stripped\.so\+0x[0-9a-f]+$" "$T/symtop" || fail "symbolize lost the offsets"

# Twice: harmless (same bytes); and the cache answers everything.
"$CPROF" symbolize -o "$T/sym2.pb.gz" "$T/sym.pb.gz" 2>/dev/null || fail "second symbolize"
cmp -s "$T/sym.pb.gz" "$T/sym2.pb.gz" || fail "symbolizing twice changed the profile"
"$CPROF" symbolize -o "$T/sym3.pb.gz" "$T/cpu.pb.gz" 2>"$T/sym3.err" || fail "third symbolize"
cat "$T/sym3.err"
grep -Eq "cache: [1-9][0-9]* hits, 0 misses; 0 files opened" "$T/sym3.err" ||
  fail "the same profile again should be answered by the cache"
cmp -s "$T/sym.pb.gz" "$T/sym3.pb.gz" || fail "the cache changed the answer"
echo "exit names and symbolize: ok"
