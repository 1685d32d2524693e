#!/bin/sh
# pprof_raw_equal.sh REENCODE GODIR — every Go oracle profile, decoded and
# re-encoded by cprof, reads identically in go tool pprof (-raw prints every
# sample, location, function and mapping), so cprof's encoder loses nothing
# that go tool pprof sees.
set -eu
reencode=$1 dir=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export HOME="${HOME:-$tmp}" GOCACHE="${GOCACHE:-$tmp/gocache}"
fail=0
for f in cpu heap allocs mutex block goroutine threadcreate; do
  "$reencode" "$dir/$f.pb.gz" "$tmp/$f.pb.gz"
  go tool pprof -raw "$dir/$f.pb.gz" >"$tmp/$f.want" 2>&1
  go tool pprof -raw "$tmp/$f.pb.gz" >"$tmp/$f.got" 2>&1
  if cmp -s "$tmp/$f.want" "$tmp/$f.got"; then
    echo "ok $f: go tool pprof -raw identical ($(wc -l <"$tmp/$f.want") lines)"
  else
    echo "FAIL $f: go tool pprof -raw differs after cprof decode+encode:"
    diff "$tmp/$f.want" "$tmp/$f.got" | head -20
    fail=1
  fi
done
exit $fail
