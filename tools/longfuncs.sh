#!/bin/sh
# longfuncs.sh — list C functions longer than a limit (default 120 lines),
# longest first: "LINES FILE:LINE NAME".  A function is what the tree's
# style makes one: a line opening with '{' in column 0 after its signature,
# ending at the next '}' in column 0.  Not a test: a reading aid (issue 8).
# Usage: tools/longfuncs.sh [LIMIT] [DIR...]   (default: src)
set -eu
limit=${1:-120}
[ $# -gt 0 ] && shift
[ $# -gt 0 ] || set -- src
find "$@" -name '*.c' -o -name '*.cc' | sort | while read -r f; do
    LC_ALL=C awk -v limit="$limit" -v file="$f" '
        /^[A-Za-z_].*\(/ { sig = $0 }
        /^\{/ { start = NR; name = sig; sub(/\(.*/, "", name); n = split(name, w, /[ *]+/); name = w[n] }
        /^\}/ && start { len = NR - start + 1; if (len > limit) print len, file ":" start, name; start = 0 }
    ' "$f"
done | sort -rn
