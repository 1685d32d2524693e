#!/bin/sh
# setup.sh — install the browser tests' one npm package (playwright-core,
# pinned in package-lock.json) into tests/browser/node_modules with npm ci.
# playwright-core drives the system Chromium: no browser is downloaded.
# Quiet and quick when already installed.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
[ -f "$here/node_modules/playwright-core/package.json" ] && exit 0
command -v npm >/dev/null 2>&1 || { echo "setup: npm not found" >&2; exit 1; }
cd "$here"
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >&2
