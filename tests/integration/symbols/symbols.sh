#!/bin/sh
# symbols.sh LIBCPROF ALLOWED LIBCPROF_A — libcprof.so lives inside other people's
# programs: it exports exactly the public API and the interposers listed in
# ALLOWED (one name a line), nothing more (an internal symbol would clash
# with the program's own) and nothing less (a missing interposer silently
# stops a profile type).  No versioned export either: a version node would
# keep the dynamic linker from binding the program's malloc@GLIBC to ours.
set -eu
lib=$1 allowed=$2 archive=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
nm -D --defined-only "$lib" | awk '{print $3}' | LC_ALL=C sort >"$tmp/have"
LC_ALL=C sort "$allowed" >"$tmp/want"
if ! cmp -s "$tmp/have" "$tmp/want"; then
  echo "FAIL: exports differ from the allow-list (< exported, > allowed):"
  diff "$tmp/have" "$tmp/want" | grep '^[<>]'
  exit 1
fi
# Every symbol our objects give default visibility (an interposer, an API
# function) must be exported: the version script is a list kept by hand,
# and one it forgets is hidden without a word.
readelf -sW "$archive" | awk '$5 == "GLOBAL" && $6 == "DEFAULT" && $7 != "UND" { print $8 }' |
  grep -v -E '^__(start|stop)_' | LC_ALL=C sort -u >"$tmp/default"
missing=$(LC_ALL=C comm -23 "$tmp/default" "$tmp/have")
if [ -n "$missing" ]; then
  echo "FAIL: default-visibility symbols the version script hides (add them to src/preload/libcprof.map):"
  echo "$missing"
  exit 1
fi
if readelf -V "$lib" | grep -q "Version definition"; then
  echo "FAIL: libcprof.so defines symbol versions"
  exit 1
fi
echo "symbols: $(wc -l <"$tmp/have") exports, as allowed; unversioned"
