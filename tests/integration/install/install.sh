#!/bin/sh
# install.sh BUILD SRC — what `make install` puts in place is enough to
# build and profile a program: meson's install of this build into a scratch
# root, pkg-config's flags for cprof from there, a program compiled and
# linked against the installed header and library, run with CPROF_CPU, and
# the installed cprof reading the profile it wrote.
set -eu
build=$(cd "$1" && pwd) src=$(cd "$2" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

meson install -C "$build" --no-rebuild --destdir "$tmp/root" >"$tmp/install.log" 2>&1 ||
  { cat "$tmp/install.log"; fail "meson install"; }
prefix=$(meson introspect "$build" --buildoptions |
  python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"]=="prefix"))')
root="$tmp/root$prefix"
pc=$(find "$root" -name cprof.pc | head -1)
[ -n "$pc" ] || fail "no cprof.pc installed under $root"
for f in include/cprof.h bin/cprof; do
  [ -e "$root/$f" ] || fail "$f not installed"
done
ls "$root"/lib*/libcprof.so "$root"/lib/*/libcprof.so 2>/dev/null | grep -q . || fail "libcprof.so not installed"
ls "$root"/lib*/libcprof.a "$root"/lib/*/libcprof.a 2>/dev/null | grep -q . || fail "libcprof.a not installed"

export PKG_CONFIG_PATH=$(dirname "$pc") PKG_CONFIG_SYSROOT_DIR="$tmp/root"
flags=$(pkg-config --cflags --libs cprof) || fail "pkg-config --cflags --libs cprof"
echo "pkg-config: $flags"
cat >"$tmp/prog.c" <<'C'
#include <cprof.h>
#include <stdio.h>
static volatile unsigned long sink;
__attribute__((noinline)) static void installed_work(void)
{
    for (unsigned long i = 0; i < 300000000ul; i++)
        sink += i * 7;
}
int main(void)
{
    if (cprof_cpu_start("prog.pb.gz", NULL) != 0)
        return 1;
    installed_work();
    int rc = cprof_cpu_stop();
    printf("stop: %s\n", rc ? cprof_strerror(rc) : "ok");
    return rc != 0;
}
C
# shellcheck disable=SC2086
cc -O1 -o "$tmp/prog" "$tmp/prog.c" $flags || fail "compiling against the installed files"
libdir=$(pkg-config --variable=libdir cprof) # the sysroot already in front
(cd "$tmp" && LD_LIBRARY_PATH="$libdir" ./prog) >"$tmp/out" || { cat "$tmp/out"; fail "prog"; }
grep -q "stop: ok" "$tmp/out" || fail "prog said $(cat "$tmp/out")"
LD_LIBRARY_PATH="$libdir" ldd "$tmp/prog" | grep -q "libcprof.so => $libdir/libcprof.so" ||
  fail "prog is not linked to the installed libcprof.so"
"$root/bin/cprof" top "$tmp/prog.pb.gz" >"$tmp/top" 2>&1 || { cat "$tmp/top"; fail "installed cprof top"; }
grep -q installed_work "$tmp/top" || { cat "$tmp/top"; fail "the profile does not name installed_work"; }
echo "install: header, libraries, pkg-config file and cprof installed; a program built from them profiles itself"
