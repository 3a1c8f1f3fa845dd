#!/usr/bin/env bash
# tools/sanitize.sh [--tsan] [CTEST_ARGS...] — the normal test suite under sanitizers (issue 13).
#   default: ASan + UBSan (gcc, -fsanitize=address,undefined) in build-asan/, then ctest.
#   --tsan:  ThreadSanitizer in build-tsan/, then ctest on the suites that run `veridge serve` and
#            net/'s server threads (net/, api/, app/ serve tests) unless CTEST_ARGS say otherwise.
# Extra arguments go to ctest (e.g. -R pki/). Uses the project's VERIDGE_SANITIZE option, so the
# normal build/ is untouched. SANITIZE_TARGETS="test_net test_api" builds only those targets (and
# what they link), for a partial run on a busy machine; SANITIZE_JOBS (default nproc) caps both
# the build and ctest parallelism. Slow (every module rebuilt instrumented): a documented script, not
# part of tools/test.sh. Exit status: ctest's.
set -euo pipefail
cd "$(dirname "$0")/.."
export CCACHE_BASEDIR=$PWD CCACHE_NOHASHDIR=1
MODE=asan
if [[ ${1:-} == --tsan ]]; then MODE=tsan; shift; fi
if [[ $MODE == asan ]]; then
  DIR=${SANITIZE_BUILD_DIR:-build-asan}; SAN=address,undefined
  # A UBSan finding fails the test (not just a line in its output); leaks are findings too.
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
  DEFAULT_ARGS=()
else
  DIR=${SANITIZE_BUILD_DIR:-build-tsan}; SAN=thread
  export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}
  DEFAULT_ARGS=(-R "^(net|api|app)/")
fi
cmake -S . -B "$DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVERIDGE_SANITIZE=$SAN -DVERIDGE_BUILD_BENCH=OFF >/dev/null
JOBS=${SANITIZE_JOBS:-$(nproc)}
read -r -a TARGETS <<<"${SANITIZE_TARGETS:-}"
cmake --build "$DIR" -j"$JOBS" ${TARGETS[@]:+--target "${TARGETS[@]}"}
((${#TARGETS[@]})) || bash tools/fetch-models.sh "$DIR"
ARGS=("$@"); ((${#ARGS[@]})) || ARGS=("${DEFAULT_ARGS[@]}")
ctest --test-dir "$DIR" --output-on-failure -j"$JOBS" --timeout 1800 "${ARGS[@]}"
