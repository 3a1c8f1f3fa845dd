#!/usr/bin/env bash
# Installs the npm packages used by tests and benchmarks (lender-side webhook client, face-api.js
# peer) from the lock file in tools/node/. Idempotent; skipped when already installed.
set -euo pipefail
cd "$(dirname "$0")/node"
if [ -f package.json ]; then
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
    npm ci --no-audit --no-fund --loglevel=error
    touch node_modules
  fi
fi
