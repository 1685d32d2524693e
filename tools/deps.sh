#!/bin/sh
# deps.sh — install the Debian packages cprof needs to build, test and demo.
# As root: installs what is missing.  Otherwise: prints the exact apt-get line.
set -eu
PKGS="gcc clang meson ninja-build pkg-config zlib1g-dev libdw-dev libelf-dev \
libmicrohttpd-dev libcriterion-dev libunwind-dev golang-go graphviz python3 \
libclang-rt-14-dev g++ binutils git \
make tar grep sqlite3 curl openssl openssh-client valgrind libc6-dbg nodejs \
redis-server redis-tools libjemalloc-dev libgoogle-perftools-dev libmimalloc-dev \
libcurl4-openssl-dev chromium libdeflate-dev libisal-dev"
case "${1:-}" in
  --bench) PKGS="$PKGS google-perftools time heaptrack hyperfine" ;;
esac
missing=""
for p in $PKGS; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
    missing="$missing $p"
  fi
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
  echo "deps: installing:$missing" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null || apt-get update
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing >/dev/null || \
    apt-get install -y --no-install-recommends $missing
else
  echo "deps: missing packages; run as root:" >&2
  echo "  apt-get install -y$missing" >&2
  exit 1
fi
