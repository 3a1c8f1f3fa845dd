#!/usr/bin/env bash
# NIST PKITS through `veridge cert verify`: prints "N passed, N failed" (exit 1 if any failed).
# Usage: tools/pki/run-pkits.sh [BUILD_DIR] [--verbose] [--filter TEXT]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="${1:-$root/build}"; shift || true
data="${VERIDGE_SHARED_DIR:-$root/../shared}/data/pki/pkits/pkits.limbo.json"
[ -f "$data" ] || { echo "PKITS data not found at $data (see ../shared/data/README.md)" >&2; exit 2; }
[ -x "$build/src/app/veridge" ] || { echo "build veridge first: ninja -C $build veridge" >&2; exit 2; }
exec node "$root/tools/pki/run-pkits.js" "$build/src/app/veridge" "$data" "$@"
