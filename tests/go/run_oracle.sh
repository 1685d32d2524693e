#!/bin/sh
# run_oracle.sh OUTDIR — build the Go oracle and write its profiles into OUTDIR
# (cpu, heap, allocs, mutex, block, goroutine, threadcreate .pb.gz).
# Works offline with Debian's golang-go; the build cache lives in OUTDIR when
# HOME is not usable (meson test, CI containers).
set -eu
out=${1:?usage: run_oracle.sh OUTDIR}
src=$(cd "$(dirname "$0")/oracle" && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)
if [ -z "${GOCACHE:-}" ]; then
  if [ -n "${HOME:-}" ] && [ -w "${HOME:-/nonexistent}" ]; then :; else
    export GOCACHE="$out/.gocache"
  fi
fi
export GOPROXY=off GOFLAGS= GO111MODULE=on
(cd "$src" && go build -o "$out/oracle" .)
"$out/oracle" "$out"
