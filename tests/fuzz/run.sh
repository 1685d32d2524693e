#!/bin/sh
# run.sh BUILD SECONDS [TARGET] — run a libFuzzer target (fuzz_decode, the
# default, or fuzz_analysis) for SECONDS.
# Starts from the seed corpus in tests/fuzz/corpus; new inputs the fuzzer
# finds go to BUILD/fuzz-corpus (not into the source tree), crashes to
# BUILD/fuzz-artifacts/.  Build first: make fuzz (meson -Dfuzz=true, clang).
set -eu
build=${1:?usage: run.sh BUILD SECONDS}
secs=${2:-60}
here=$(cd "$(dirname "$0")" && pwd)
target=${3:-fuzz_decode}
bin="$build/tests/fuzz/$target"
[ -x "$bin" ] || { echo "run.sh: $bin not built (meson setup $build -Dfuzz=true with CC=clang)" >&2; exit 1; }
corpus="$build/fuzz-corpus"
[ "$target" = fuzz_decode ] || corpus="$build/fuzz-corpus-$target"
mkdir -p "$corpus" "$build/fuzz-artifacts"
"$bin" -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048 -timeout=10 \
  -print_final_stats=1 -artifact_prefix="$build/fuzz-artifacts/$target-" \
  "$corpus" "$here/corpus"
