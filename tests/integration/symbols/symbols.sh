#!/bin/sh
# symbols.sh LIBCPROF ALLOWED — libcprof.so lives inside other people's
# programs: it exports exactly the public API and the interposers listed in
# ALLOWED (one name a line), nothing more (an internal symbol would clash
# with the program's own) and nothing less (a missing interposer silently
# stops a profile type).  No versioned export either: a version node would
# keep the dynamic linker from binding the program's malloc@GLIBC to ours.
set -eu
lib=$1 allowed=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
nm -D --defined-only "$lib" | awk '{print $3}' | LC_ALL=C sort >"$tmp/have"
LC_ALL=C sort "$allowed" >"$tmp/want"
if ! cmp -s "$tmp/have" "$tmp/want"; then
  echo "FAIL: exports differ from the allow-list (< exported, > allowed):"
  diff "$tmp/have" "$tmp/want" | grep '^[<>]'
  exit 1
fi
if readelf -V "$lib" | grep -q "Version definition"; then
  echo "FAIL: libcprof.so defines symbol versions"
  exit 1
fi
echo "symbols: $(wc -l <"$tmp/have") exports, as allowed; unversioned"
