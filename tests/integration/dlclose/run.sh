#!/bin/sh
# run.sh — profiles of code that was dlclose'd before they were written.
#
# dlmain dlopens dlplug, allocates 1000 blocks of 96 bytes there (frees
# 400), burns 300 ms of CPU there, blocks 20 times there (1 ms semaphore
# timeouts), dlcloses it and exits; CPROF_HEAP at rate 1, CPROF_CPU and
# CPROF_BLOCK at rate 1 write at exit.  The heap profile's figures for
# dlplug_alloc_here are exact and named, the CPU profile names dl_burn
# (the library's CPU burner), the block profile has exactly 20 waits under
# dlplug_wait_here, and go tool pprof opens all three.
set -u
LC_ALL=C
export LC_ALL
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cprof-dlclose.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

out=$(env LD_PRELOAD="$LIBCPROF" CPROF_HEAP="$tmp/heap.pb.gz" CPROF_HEAP_RATE=1 \
      CPROF_CPU="$tmp/cpu.pb.gz" CPROF_BLOCK="$tmp/block.pb.gz" CPROF_BLOCK_RATE=1 \
      "$DLMAIN" "$DLPLUG" 1000 96 400 300 20) || fail "dlmain failed"
[ "$out" = unloaded ] || fail "the library was not unloaded by dlclose (dlmain said '$out')"
[ -s "$tmp/heap.pb.gz" ] || fail "no heap profile written"
[ -s "$tmp/cpu.pb.gz" ] || fail "no CPU profile written"
[ -s "$tmp/block.pb.gz" ] || fail "no block profile written"

# Exact heap figures, by innermost named frame.
"$HEAP_CHECK" sites "$tmp/heap.pb.gz" >"$tmp/sites" || fail "heap_check cannot read the heap profile"
got=$(grep '^dlplug_alloc_here ' "$tmp/sites")
want="dlplug_alloc_here 1000 96000 600 57600"
echo "heap: $got"
[ "$got" = "$want" ] || { cat "$tmp/sites"; fail "heap site: got '$got', want '$want'"; }

# The library's mapping is in both profiles, by path.
for p in heap cpu block; do
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
HOME="$tmp" go tool pprof -symbolize=none -top -cum -sample_index=contentions "$tmp/block.pb.gz" \
    >"$tmp/block.top" 2>&1 || fail "go tool pprof -top on the block profile"
waits=$(awk '$NF == "dlplug_wait_here" { print $4 }' "$tmp/block.top")
[ "$waits" = 20 ] || { cat "$tmp/block.top"; fail "block profile: dlplug_wait_here has '$waits' waits, want 20"; }
echo "block: dlplug_wait_here 20 waits"
sed -n 1,8p "$tmp/cpu.top"
echo "ok: heap, CPU and block samples in a dlclose'd library keep their mapping and names"
