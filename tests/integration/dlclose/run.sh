#!/bin/sh
# run.sh — profiles of code that was dlclose'd before they were written.
#
# dlmain dlopens dlplug, allocates 1000 blocks of 96 bytes there (frees
# 400), burns 300 ms of CPU there, dlcloses it and exits; CPROF_HEAP at
# rate 1 and CPROF_CPU write at exit.  The heap profile's figures for
# dlplug_alloc_here are exact and named, the CPU profile names dl_burn
# (the library's CPU burner), and go tool pprof opens both.
set -u
LC_ALL=C
export LC_ALL
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cprof-dlclose.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

out=$(env LD_PRELOAD="$LIBCPROF" CPROF_HEAP="$tmp/heap.pb.gz" CPROF_HEAP_RATE=1 \
      CPROF_CPU="$tmp/cpu.pb.gz" "$DLMAIN" "$DLPLUG" 1000 96 400 300) || fail "dlmain failed"
[ "$out" = unloaded ] || fail "the library was not unloaded by dlclose (dlmain said '$out')"
[ -s "$tmp/heap.pb.gz" ] || fail "no heap profile written"
[ -s "$tmp/cpu.pb.gz" ] || fail "no CPU profile written"

# Exact heap figures, by innermost named frame.
"$HEAP_CHECK" sites "$tmp/heap.pb.gz" >"$tmp/sites" || fail "heap_check cannot read the heap profile"
got=$(grep '^dlplug_alloc_here ' "$tmp/sites")
want="dlplug_alloc_here 1000 96000 600 57600"
echo "heap: $got"
[ "$got" = "$want" ] || { cat "$tmp/sites"; fail "heap site: got '$got', want '$want'"; }

# The library's mapping is in both profiles, by path.
for p in heap cpu; do
    HOME="$tmp" go tool pprof -symbolize=none -raw "$tmp/$p.pb.gz" >"$tmp/$p.raw" 2>"$tmp/$p.err" ||
        { cat "$tmp/$p.err"; fail "go tool pprof -raw cannot open the $p profile"; }
    grep -q 'dlplug' "$tmp/$p.raw" || { sed -n 1,40p "$tmp/$p.raw"; fail "$p profile: no mapping or name of the unloaded library"; }
done
HOME="$tmp" go tool pprof -symbolize=none -top -sample_index=alloc_objects "$tmp/heap.pb.gz" \
    >"$tmp/heap.top" 2>&1 || fail "go tool pprof -top on the heap profile"
grep -Eq '^ +1000 .* dlplug_alloc_here$' "$tmp/heap.top" ||
    { cat "$tmp/heap.top"; fail "go tool pprof: dlplug_alloc_here is not 1000 objects flat"; }
HOME="$tmp" go tool pprof -symbolize=none -top "$tmp/cpu.pb.gz" >"$tmp/cpu.top" 2>&1 ||
    fail "go tool pprof -top on the CPU profile"
grep -q ' dl_burn$' "$tmp/cpu.top" ||
    { cat "$tmp/cpu.top"; fail "CPU profile: dl_burn is not named"; }
sed -n 1,8p "$tmp/cpu.top"
echo "ok: heap and CPU samples in a dlclose'd library keep their mapping and names"
