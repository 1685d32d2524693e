#!/bin/sh
# pprof_interop.sh CODEC_TOOL GEN_PROFILE GODIR — cprof and go tool pprof
# agree on the bytes each writes.
#  1. Every Go oracle profile, decoded and re-encoded by cprof, reads
#     identically in go tool pprof (-raw prints every sample, location,
#     function and mapping): cprof's codec loses nothing go tool pprof sees.
#  2. Profiles cprof writes (the small test profile: labels with units,
#     inline frames, comments, drop/keep frames; and a gen_profile one with
#     C++ names) open in go tool pprof, and go tool pprof's rewrite of them
#     (-proto) decodes in cprof to the same samples, frames and fields.
set -eu
tool=$1 gen=$2 dir=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export HOME="${HOME:-$tmp}" GOCACHE="${GOCACHE:-$tmp/gocache}"
fail=0
for f in cpu heap allocs mutex block goroutine threadcreate; do
  "$tool" reencode "$dir/$f.pb.gz" "$tmp/$f.pb.gz"
  go tool pprof -raw "$dir/$f.pb.gz" >"$tmp/$f.want" 2>&1
  go tool pprof -raw "$tmp/$f.pb.gz" >"$tmp/$f.got" 2>&1
  if cmp -s "$tmp/$f.want" "$tmp/$f.got"; then
    echo "ok go $f: go tool pprof -raw identical after cprof decode+encode ($(wc -l <"$tmp/$f.want") lines)"
  else
    echo "FAIL go $f: go tool pprof -raw differs after cprof decode+encode:"
    diff "$tmp/$f.want" "$tmp/$f.got" | head -20
    fail=1
  fi
done

"$tool" small "$tmp/small.pb.gz"
"$gen" -stacks 400 -depth 16 -samples 4000 "$tmp/gen.pb.gz" 2>/dev/null
for f in small gen; do
  if ! go tool pprof -proto "$tmp/$f.pb.gz" >"$tmp/$f.go.pb.gz" 2>"$tmp/$f.err"; then
    echo "FAIL cprof $f: go tool pprof cannot read it:"; cat "$tmp/$f.err"; fail=1; continue
  fi
  if "$tool" same "$tmp/$f.pb.gz" "$tmp/$f.go.pb.gz"; then
    echo "ok cprof $f: go tool pprof reads it and its rewrite decodes to the same profile"
  else
    echo "FAIL cprof $f: go tool pprof's rewrite differs"; fail=1
  fi
done
exit $fail
