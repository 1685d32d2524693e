#!/bin/sh
# bomb.sh CPROF CODEC_TOOL — `cprof top` refuses gzip bombs given as files
# (4 GiB of zeros; a valid profile then a string field of 3 GiB; the zeros
# with a trailer forged to claim a pprof-like 3x, which cprof's libdeflate
# path (src/cli/fastgz.c) would size its buffer from) with a
# message naming the file and the reason, exit status 1, no report, and a
# peak RSS under 256 MiB (by /usr/bin/time; only that check is skipped
# where it is missing).  Time is printed, never asserted.
set -u
cprof=$1 tool=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export LC_ALL=C
fail=0
# forge F: F's gzip trailer (ISIZE, little-endian) set to 3 times F's size
forge() {
  size=$(wc -c <"$1")
  v=$((size * 3)) le=""
  for i in 0 1 2 3; do le="$le\\$(printf %03o $(((v >> (8 * i)) & 255)))"; done
  printf "$le" | dd of="$1" bs=1 seek=$((size - 4)) conv=notrunc 2>/dev/null
}
for kind in zeros profile forged; do
  f="$tmp/$kind.pb.gz"
  made=$kind
  [ "$kind" = forged ] && made=zeros
  "$tool" bomb "$made" "$f" || { echo "FAIL $kind: cannot build the bomb"; fail=1; continue; }
  [ "$kind" = forged ] && forge "$f"
  t0=$(date +%s%N)
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -f "%M" -o "$tmp/rss" "$cprof" top "$f" >"$tmp/out" 2>"$tmp/err"
    rc=$?
  else
    "$cprof" top "$f" >"$tmp/out" 2>"$tmp/err"
    rc=$?
  fi
  ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  want="cprof: $f: gzip: refused as a gzip bomb: "
  if [ "$rc" -ne 1 ]; then
    echo "FAIL $kind: exit status $rc, want 1"; fail=1
  elif ! grep -qF "$want" "$tmp/err" || ! grep -qF "over the limit of 100 times their size" "$tmp/err"; then
    echo "FAIL $kind: message: $(cat "$tmp/err")"; fail=1
  elif [ -s "$tmp/out" ]; then
    echo "FAIL $kind: printed a report"; fail=1
  fi
  rss=-
  if [ -s "$tmp/rss" ]; then
    rss=$(tail -1 "$tmp/rss")
    case $rss in
      ''|*[!0-9]*) echo "FAIL $kind: no peak RSS from /usr/bin/time"; fail=1 ;;
      *) [ "$rss" -lt 262144 ] || { echo "FAIL $kind: peak RSS $rss KiB, want < 256 MiB"; fail=1; } ;;
    esac
  fi
  echo "$kind bomb ($(wc -c <"$f") bytes): exit $rc in $ms ms (wall, not asserted), peak RSS $rss KiB: $(head -1 "$tmp/err")"
done
exit $fail
