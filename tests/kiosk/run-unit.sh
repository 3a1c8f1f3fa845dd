#!/usr/bin/env bash
# CTest entry for the kiosk page's Vitest suite (web/kiosk/test): the reducer, the protocol
# parsers, the catalogues and every screen rendered in jsdom. Skips (VERIDGE-SKIP) when the npm
# packages are not installed (tools/build-web.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/../../web/kiosk"
if [ ! -x node_modules/.bin/vitest ]; then
  echo "VERIDGE-SKIP: web/kiosk/node_modules is missing (run tools/build-web.sh)"
  exit 0
fi
exec node_modules/.bin/vitest run --reporter=dot
