#!/usr/bin/env bash
# Builds the applicant's kiosk page (web/kiosk: TypeScript + Preact, Vite) into web/kiosk/dist, which
# `veridge serve` serves under /kiosk/ ([kiosk] assets_dir), and the test-only fixture page into
# web/kiosk/dist-fixture (never deployed). npm packages come from web/kiosk/package-lock.json
# (`npm ci`, preferring the local npm cache, so a warm machine needs no network). Idempotent and
# cached: npm ci runs only when the lock file changed, Vite only when a source is newer than the
# last build.
set -euo pipefail
cd "$(dirname "$0")/../web/kiosk"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
  npm ci --prefer-offline --no-audit --no-fund --loglevel=error
  touch node_modules
fi
stamp=dist/.built
if [ ! -f "$stamp" ] || [ ! -f dist-fixture/index.html ] ||
   [ -n "$(find index.html fixture src vite.config.ts tsconfig.json package-lock.json -newer "$stamp" -print -quit)" ]; then
  npm run --silent build
  touch "$stamp"
  echo "build-web: kiosk page built in web/kiosk/dist"
else
  echo "build-web: kiosk page up to date"
fi
