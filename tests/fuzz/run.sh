#!/bin/sh
# run.sh BUILD SECONDS — run the libFuzzer decoder target for SECONDS.
# Starts from the seed corpus in tests/fuzz/corpus; new inputs the fuzzer
# finds go to BUILD/fuzz-corpus (not into the source tree), crashes to
# BUILD/fuzz-artifacts/.  Build first: make fuzz (meson -Dfuzz=true, clang).
set -eu
build=${1:?usage: run.sh BUILD SECONDS}
secs=${2:-60}
here=$(cd "$(dirname "$0")" && pwd)
bin="$build/tests/fuzz/fuzz_decode"
[ -x "$bin" ] || { echo "run.sh: $bin not built (meson setup $build -Dfuzz=true with CC=clang)" >&2; exit 1; }
mkdir -p "$build/fuzz-corpus" "$build/fuzz-artifacts"
"$bin" -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048 -timeout=10 \
  -print_final_stats=1 -artifact_prefix="$build/fuzz-artifacts/" \
  "$build/fuzz-corpus" "$here/corpus"
