#!/bin/sh
# flags.sh — the report flags' table (src/cli/report_flags.c) serves both
# parsing and help: every flag `cprof help flags` lists (names and
# aliases) is listed by `cprof help` and parsed by a report command, in
# the -flag=value, --flag value and -flag forms; every -flag `cprof help`
# lists is in the table; unknown flags are refused.
# Usage: flags.sh CPROF_BINARY SOURCE_ROOT WORKDIR
set -u
export LC_ALL=C
CPROF=$1
SRC=$2
WORK=$3
mkdir -p "$WORK"
P=$SRC/tests/fuzz/corpus/go-cpu.pb.gz
M=$SRC/tests/fuzz/corpus/go-mutex.pb.gz
fail=0
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }

"$CPROF" help >"$WORK/help" || bad "cprof help exits $?"
"$CPROF" help flags >"$WORK/table" || bad "cprof help flags exits $?"
# one row a flag: "  -name|-alias=ARG   help" (ARG after '=' or ' ')
sed -n 's/^  \(-[^ ]*\)\( [A-Z][A-Z]*\)\{0,1\}  .*$/\1\2/p' "$WORK/table" >"$WORK/spell"
rows=$(wc -l <"$WORK/table")
[ "$rows" -ge 60 ] || bad "cprof help flags lists $rows flags, want >= 60"
[ "$(wc -l <"$WORK/spell")" -eq "$rows" ] || bad "unparsable rows in cprof help flags"
# the -flags of cprof help's report section, each in the table
sed -n '/^report flags/,$p' "$WORK/help" | sed 1d | tr ' ' '\n' | grep '^-[a-z]' |
    sed 's/[= ].*//' | tr '|' '\n' | sed 's/^-//' | sort -u >"$WORK/listed"
sed 's/[= ].*//' "$WORK/spell" | tr '|' '\n' | sed 's/^-//' | sort -u >"$WORK/names"
[ -s "$WORK/names" ] || bad "no flag names read from cprof help flags"
diff "$WORK/names" "$WORK/listed" >"$WORK/namediff" ||
    bad "cprof help and cprof help flags differ: $(cat "$WORK/namediff")"

# a valid value for each placeholder
value() {
    case $1 in
    'NAME|N') echo 1 ;; N) echo 1 ;; F) echo 0.5 ;; RX) echo main ;; V) echo x ;;
    KEYS) echo pid ;; U) echo ms ;; PROFILE) echo "$P" ;; TEXT) echo hello ;;
    DIRS | PREFIXES) echo /tmp ;; none) echo none ;; FILE) echo "$WORK/out" ;;
    false) echo false ;; *) echo "?$1" ;;
    esac
}
# run FLAGARGS...: a report with the flag must accept it
run() {
    prof=$P
    case $1 in -*delay* | -contentions*) prof=$M ;; esac
    cmd=top
    f=${1#-}
    case ${f#-} in
    peek* | list* | top* | text* | tree* | traces* | tags | tags=* | raw* | folded* | dot* | \
        proto* | comments* | flame* | svg* | png* | sample_types*) cmd= ;;
    normalize*) set -- "$@" "-base=$P" ;; # needs a base
    esac
    # shellcheck disable=SC2086 # cmd is one word or none
    "$CPROF" $cmd "$@" "$prof" >"$WORK/o" 2>"$WORK/e"
    rc=$?
    if grep -q "unknown flag\|needs an argument\|invalid" "$WORK/e"; then
        bad "cprof $cmd $*: $(head -1 "$WORK/e")"
    elif [ $rc -ne 0 ] && ! grep -q "^cprof: sample_index \"[a-z_]*\" must be one of" "$WORK/e"; then
        # a sample type the profile lacks is the only refusal allowed
        bad "cprof $cmd $*: exit $rc: $(head -1 "$WORK/e")"
    fi
}
n=0
while read -r s; do
    arg=
    case $s in
    *=*) arg=${s#*=} names=${s%%=*} ;;
    *' '*) arg=${s#* } names=${s%% *} ;;
    *) names=$s ;;
    esac
    for name in $(echo "$names" | tr '|' ' '); do
        n=$((n + 1))
        if [ "$arg" = false ]; then # a boolean shown as -trim=false
            run "$name=false"
            run "$name"
        elif [ -n "$arg" ]; then
            v=$(value "$arg")
            run "$name=$v"
            run "-$name" "$v"
        else
            run "$name"
            run "-$name=true"
        fi
    done
done <"$WORK/spell"
[ "$n" -ge 60 ] || bad "only $n flag names tried"
# and a name outside the table is refused, naming it
"$CPROF" top -no_such_flag "$P" >/dev/null 2>"$WORK/e" && bad "an unknown flag was accepted"
grep -q "unknown flag -no_such_flag" "$WORK/e" || bad "unknown flag message: $(cat "$WORK/e")"
# record's flags are its own; a negative --duration is refused (it read
# an unset pointer once)
for d in -1 x 0 ''; do
    "$CPROF" record "--duration=$d" true >/dev/null 2>"$WORK/e"
    rc=$?
    [ $rc -eq 2 ] && grep -q "duration wants seconds > 0" "$WORK/e" ||
        bad "record --duration=$d: exit $rc: $(head -1 "$WORK/e")"
done
echo "flags: $n names tried in two forms each, $fail failures"
[ "$fail" -eq 0 ]
