#!/bin/sh
# bench_reports.sh BUILD [SIZES] — every report command, cprof against
# go tool pprof in the same run, on generated profiles (bench/gen_profile,
# depth 40) of SIZES distinct stacks (default "150000"; BIG=1 adds 500000,
# where go tool pprof takes 1-3 minutes a command: ~15 minutes more).
#
# Prints one table per size: wall time and peak RSS of both tools, the
# time ratio (go/cprof) and the memory ratio (cprof/go), then the scaling
# of `peek .` (every function) from 20k to the largest size, for both tools
# (its output grows with the graph: ~0.5 GB of text at 150k stacks).  A go
# run over BENCH_GO_LIMIT seconds (default 600) is cut and marked.
# BENCH_REPEAT (default 3): cprof runs a command, the fastest counts;
# BENCH_SCALE (default "20000 50000"): sizes measured for peek's scaling
# besides SIZES.
# Goals (issue 13): every command >= 20x faster and <= 1/5 of go's memory;
# top, tree, peek of one function and dot under 1 s at 150k stacks.
# Never fails on time: a missed goal is printed, not returned.  The machine
# is shared: run it rarely.  Env: BENCH_GO=0 measures cprof only; BENCH_TMP
# a directory for the outputs.
set -u
build=${1:-build}
big=${BIG:-0}
default_sizes=150000
[ "$big" = 1 ] && default_sizes="150000 500000"
sizes=${2:-$default_sizes}
gen="$build/bench/gen_profile"
cprof="$build/cprof"
dir="$build/bench"
# Both tools' outputs go to tmpfs when /dev/shm has 4 GiB free (BENCH_TMP
# overrides): `peek .` writes 1.4 GB at 500k stacks, four times a row, and
# a disk's writeback of it made the same build vary by a fifth (5.1-6.3 s
# to a file on disk, 4.8-5.2 s to tmpfs, 4.6-4.7 s to /dev/null).
tmpdir=${BENCH_TMP:-}
if [ -z "$tmpdir" ] && [ -d /dev/shm ] &&
   [ "$(df -Pk /dev/shm 2>/dev/null | awk 'NR == 2 { print $4 }')" -ge 4194304 ] 2>/dev/null; then
    tmpdir=/dev/shm
fi
tmp=$(mktemp -d ${tmpdir:+-p "$tmpdir"})
trap 'rm -rf "$tmp"' EXIT
go_on=${BENCH_GO:-1}
command -v go >/dev/null 2>&1 || go_on=0
go_limit=${BENCH_GO_LIMIT:-600}
repeat=${BENCH_REPEAT:-3}
scale=${BENCH_SCALE-"20000 50000"}
export HOME="${HOME:-$tmp}" TZ=UTC

if [ ! -x "$gen" ] || [ ! -x "$cprof" ]; then
    echo "bench_reports: $gen or $cprof not built; run make first"
    exit 0
fi

# profile N SEED: path of a generated profile with N stacks (cached)
profile() {
    p="$dir/reports-$1-$2.pb.gz"
    if [ ! -s "$p" ] || [ "$gen" -nt "$p" ]; then
        samples=$(($1 * 6))
        "$gen" -stacks "$1" -samples "$samples" -seed "$2" "$p" 2>/dev/null ||
            { echo "bench_reports: gen_profile failed" >&2; return 1; }
    fi
    echo "$p"
}

# measure NAME CMD...: "seconds KiB" of one run into $tmp/NAME.time
measure() {
    name=$1
    shift
    if [ -x /usr/bin/time ]; then
        timeout "$go_limit" /usr/bin/time -f "%e %M" -o "$tmp/$name.time" "$@" \
            >"$tmp/$name.out" 2>"$tmp/$name.err" || echo "- 0" >"$tmp/$name.time"
    else
        t0=$(date +%s.%N)
        timeout "$go_limit" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
        t1=$(date +%s.%N)
        echo "$t0 $t1" | awk '{printf "%.2f 0\n", $2-$1}' >"$tmp/$name.time"
    fi
}

mib() { awk -v k="$1" 'BEGIN{ if (k == 0) print "?"; else printf "%.0f MiB", k/1024 }'; }

# row LABEL ARGS...: run `cprof ARGS` and `go tool pprof -ARGS`, print a row
row() {
    label=$1
    shift
    cmd=$1
    shift
    # cprof: the fastest of $repeat runs (the machine is shared; go's one
    # run takes 10-100 times longer, so its noise weighs less)
    cs=- ck=0
    for _ in $(seq "$repeat"); do
        case $cmd in
            merge) measure c "$cprof" merge -o "$tmp/m.pb.gz" "$@" ;;
            *) measure c "$cprof" "$cmd" "$@" ;;
        esac
        read -r t k <"$tmp/c.time"
        if [ "$cs" = - ] || awk -v a="$t" -v b="$cs" 'BEGIN{ exit !(a < b) }'; then
            cs=$t ck=$k
        fi
    done
    case $cmd in
        merge) [ "$go_on" = 1 ] && measure g go tool pprof -proto -output "$tmp/g.pb.gz" "$@" ;;
        *) [ "$go_on" = 1 ] && measure g go tool pprof "-$cmd" "$@" ;;
    esac
    gs=- gk=0
    [ "$go_on" = 1 ] && read -r gs gk <"$tmp/g.time"
    [ "$label" = "peek ." ] && echo "$cs $ck $gs $gk" >"$tmp/peek-$n"
    # top, tree, peek of one function and dot: under 1 s at 150k stacks
    case $label in
        "peek .") sec1=0 ;;
        top|tree|dot|"peek "*) sec1=1 ;;
        *) sec1=0 ;;
    esac
    [ "$n" -le 150000 ] || sec1=0
    if [ "$go_on" = 1 ]; then
        same=""
        case $cmd in
            merge|proto) ;;
            dot) [ "$gs" != - ] && { sort "$tmp/c.out" >"$tmp/cs"; sort "$tmp/g.out" >"$tmp/gs"
                 cmp -s "$tmp/cs" "$tmp/gs" && same="same lines" || same="DIFFERENT"; } ;;
            *) [ "$gs" != - ] && { cmp -s "$tmp/c.out" "$tmp/g.out" && same=identical || same=DIFFERENT; } ;;
        esac
        awk -v l="$label" -v cs="$cs" -v ck="$ck" -v gs="$gs" -v gk="$gk" -v same="$same" -v sec1="$sec1" 'BEGIN{
            cm = ck > 0 ? sprintf("%.0f MiB", ck/1024) : "?"
            if (gs == "-") { printf "| %-12s | %6.2f s, %8s | (over the limit) | | | %s |\n", l, cs, cm, same; exit }
            gm = gk > 0 ? sprintf("%.0f MiB", gk/1024) : "?"
            r = cs > 0 ? gs / cs : 0
            m = (ck > 0 && gk > 0) ? sprintf("1/%.1f", gk / ck) : "?"
            ok = (r >= 20 && gk >= 5 * ck) ? "" : " (goal missed)"
            if (sec1 == 1 && cs + 0 >= 1) ok = ok " (over 1 s)"
            printf "| %-12s | %6.2f s, %8s | %7.2f s, %8s | %6.1fx | %s%s | %s |\n", l, cs, cm, gs, gm, r, m, ok, same }'
    else
        awk -v l="$label" -v cs="$cs" -v ck="$ck" 'BEGIN{
            printf "| %-12s | %6.2f s, %8.0f MiB | - | - | - | |\n", l, cs, ck/1024 }'
    fi
}

for n in $sizes; do
    p=$(profile "$n" 1) || exit 0
    b=$(profile "$n" 2) || exit 0
    one=$("$cprof" top -nodecount=1 "$p" 2>/dev/null | tail -1 | sed 's/^ *[^ ]* *[^ ]* *[^ ]* *[^ ]* *[^ ]* *//')
    echo
    echo "$n stacks: $(wc -c <"$p") bytes gzipped ($p)"
    # go's time grows more than cprof's under load: say what the load was
    echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null); outputs in $(df -P "$tmp" | awk 'NR == 2 { print $6 }')"
    echo "| command      | cprof              | go tool pprof      | ratio   | memory | output |"
    echo "|---|---|---|---|---|---|"
    row top top "$p"
    row tree tree "$p"
    row "-base" top "-base=$b" "$p"
    row traces traces "$p"
    row merge merge "$p" "$b"
    row dot dot "$p"
    rx=$(printf '%s' "$one" | sed 's/[][\\.*^$(){}?+|]/\\&/g')
    row "peek $one" peek "^$rx\$" "$p"
    row "peek ." peek . "$p"
done

echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"

# peek over every function: how each tool scales with the stack count
echo
echo "peek . (every function) scaling with the number of stacks:"
last=""
for n in $scale $sizes; do
    case " $last " in *" $n "*) continue ;; esac
    last="$last $n"
    p=$(profile "$n" 1) || exit 0
    if [ -s "$tmp/peek-$n" ]; then
        read -r cs ck gs gk <"$tmp/peek-$n"
    else
        measure c "$cprof" peek . "$p"
        read -r cs ck <"$tmp/c.time"
        gs=- gk=0
        if [ "$go_on" = 1 ]; then
            measure g go tool pprof -peek . "$p"
            read -r gs gk <"$tmp/g.time"
        fi
    fi
    gtxt="-"
    [ "$go_on" = 1 ] && gtxt="$gs s, $(mib "$gk")"
    echo "  $n stacks: cprof $cs s, $(mib "$ck") | go tool pprof $gtxt"
done
exit 0
