#!/usr/bin/env bash
# The test command (README): installs what is needed, fetches and converts the models, builds with
# Ninja (+ ccache) and runs every test through CTest. Re-runnable; incremental after the first run.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
# ccache: paths relative to the checkout, so a fresh clone elsewhere (CI) reuses the cache.
export CCACHE_BASEDIR=$PWD
# -g puts the build directory into the debug info, so ccache hashes it by default and a clone in
# another folder misses every time; the debug paths are only cosmetic, so do not hash it.
export CCACHE_NOHASHDIR=1

bash tools/setup-debian.sh
bash tools/setup-node.sh
bash tools/build-web.sh
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)"
bash tools/fetch-models.sh "$BUILD_DIR"
ctest --test-dir "$BUILD_DIR" --output-on-failure -j"$(nproc)" --timeout 900
# Fuzz regression (issue 13): every libFuzzer target of fuzz/ for FUZZ_SECONDS (default 30) from its
# seeds, in its own clang build (build-fuzz/); a crash, leak, hang or OOM fails the run.
# FUZZ_SECONDS=0 skips it (a quick local re-run); the 15-minute runs are `tools/fuzz.sh all 900`.
if [[ ${FUZZ_SECONDS:-30} != 0 ]]; then
  bash tools/fuzz.sh all "${FUZZ_SECONDS:-30}"
fi
