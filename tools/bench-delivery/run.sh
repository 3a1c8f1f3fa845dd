#!/usr/bin/env bash
# Builds and runs the delivery benchmark in BUILD_DIR (default build/). Extra args go to the program.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD_DIR=${BUILD_DIR:-build}
cmake --build "$BUILD_DIR" --target bench-delivery >/dev/null
"$BUILD_DIR/tools/bench-delivery/bench-delivery" "$@"
