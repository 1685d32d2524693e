#!/bin/sh
# fastgz.sh CPROF FASTGZ_TOOL GEN_PROFILE CORPUS — the cprof
# command's libdeflate gzip end to end, go tool pprof as the oracle:
#  1. a profile rewritten as three runs of cprof's gzip members reads the
#     same in go tool pprof -raw and cprof raw as the original;
#  2. a file of two plain gzip members (gzip(1), no size field, so the
#     trailer at its end lies about the whole) reads the same;
#  3. a merge whose output is over one member (8 MiB raw) is several
#     members, passes gzip -t, and go tool pprof -raw and cprof raw read it
#     as they read the same bytes in one member (libdeflate's path) and in
#     two plain members (zlib's path).
# (Bombs, with a forged trailer too: tests/integration/codec/bomb.sh.)
set -u
cprof=$1 tool=$2 gen=$3 corpus=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export LC_ALL=C TZ=UTC HOME="${HOME:-$tmp}"
fail=0
bad() { echo "FAIL $*"; fail=1; }

# same_reads A B WHAT: go tool pprof -raw and cprof raw print the same for A and B
same_reads() {
    go tool pprof -raw "$1" >"$tmp/ga" 2>"$tmp/ge" || { bad "$3: go tool pprof -raw $1: $(head -3 "$tmp/ge")"; return; }
    go tool pprof -raw "$2" >"$tmp/gb" 2>"$tmp/ge" || { bad "$3: go tool pprof -raw $2: $(head -3 "$tmp/ge")"; return; }
    cmp -s "$tmp/ga" "$tmp/gb" || bad "$3: go tool pprof -raw differs"
    [ -s "$tmp/ga" ] || bad "$3: go tool pprof -raw printed nothing"
    "$cprof" raw "$1" >"$tmp/ca" 2>"$tmp/ce" || { bad "$3: cprof raw $1: $(head -3 "$tmp/ce")"; return; }
    "$cprof" raw "$2" >"$tmp/cb" 2>"$tmp/ce" || { bad "$3: cprof raw $2: $(head -3 "$tmp/ce")"; return; }
    cmp -s "$tmp/ca" "$tmp/cb" || bad "$3: cprof raw differs"
    [ -s "$tmp/ca" ] || bad "$3: cprof raw printed nothing"
}

# two_plain RAW OUT: RAW's bytes as two gzip(1) members
two_plain() {
    n=$(wc -c <"$1")
    head -c $((n / 3)) "$1" | gzip -1 >"$2"
    tail -c +$((n / 3 + 1)) "$1" | gzip -9 >>"$2"
}

# 1 and 2
for p in go-cpu cprof-small; do
    in="$corpus/$p.pb.gz"
    "$tool" split 3 "$in" "$tmp/$p-3.pb.gz" || bad "$p: split"
    [ "$("$tool" members "$tmp/$p-3.pb.gz")" = 3 ] || bad "$p: not three members"
    gzip -t "$tmp/$p-3.pb.gz" || bad "$p: gzip -t"
    same_reads "$in" "$tmp/$p-3.pb.gz" "$p in three members"
    gzip -dc "$in" >"$tmp/$p.pb"
    two_plain "$tmp/$p.pb" "$tmp/$p-cat.pb.gz"
    same_reads "$in" "$tmp/$p-cat.pb.gz" "$p as two plain members"
done

# 3
"$gen" -stacks 30000 -samples 60000 -seed 1 "$tmp/a.pb.gz" 2>/dev/null || bad "gen a"
"$gen" -stacks 30000 -samples 60000 -seed 2 "$tmp/b.pb.gz" 2>/dev/null || bad "gen b"
"$cprof" merge -o "$tmp/m.pb.gz" "$tmp/a.pb.gz" "$tmp/b.pb.gz" || bad "merge"
members=$("$tool" members "$tmp/m.pb.gz")
raw=$(gzip -dc "$tmp/m.pb.gz" | wc -c)
[ "$members" -ge 2 ] || bad "merge of $raw raw bytes wrote $members members, want >= 2"
gzip -t "$tmp/m.pb.gz" || bad "merge: gzip -t"
gzip -dc "$tmp/m.pb.gz" >"$tmp/m.pb"
gzip -1 -c "$tmp/m.pb" >"$tmp/m1.pb.gz"
two_plain "$tmp/m.pb" "$tmp/m2.pb.gz"
same_reads "$tmp/m.pb.gz" "$tmp/m1.pb.gz" "merge output vs one member"
"$cprof" raw "$tmp/m2.pb.gz" >"$tmp/c2" 2>&1 || bad "cprof raw of two plain members"
cmp -s "$tmp/ca" "$tmp/c2" || bad "merge output: zlib's path reads differently"
echo "merge: $raw raw bytes in $members members, $(wc -c <"$tmp/m.pb.gz") bytes"

[ "$fail" = 0 ] && echo "fastgz: all checks passed"
exit $fail
