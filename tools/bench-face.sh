#!/usr/bin/env bash
# Face pipeline benchmark against the face-api.js peer (same descriptor weights), same images, same run.
# Usage: bash tools/bench-face.sh [BUILD_DIR] [N_IMAGES] [REPEATS]
# Prints per-stage median ms at 640x480 and 1280x720 (one thread), images/s on 1 and 2 threads,
# the peer's figures and the throughput ratio; then cold start and peak RSS of `veridge face compare`.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${1:-build}
N=${2:-12}
REPEATS=${3:-2}
MODELS=${VERIDGE_MODEL_DIR:-var/models}
DATA=../shared/data/faces/deepface
[ -d "$DATA" ] || { echo "bench-face: $DATA not found (needs ../shared/data)"; exit 2; }
[ -x "$BUILD_DIR/tools/bench-face/bench-face" ] || { echo "bench-face: build it first: cmake --build $BUILD_DIR --target bench-face"; exit 2; }
bash tools/setup-node.sh >/dev/null

work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
# Single-face photos from the deepface set (the peer's SSD and our HOG both see them).
mapfile -t imgs < <(ls "$DATA"/img*.jpg | grep -v reflection | sort -V | head -n "$N")
"$BUILD_DIR/tools/bench-face/bench-face" prepare "$work" "${imgs[@]}"

printf '%-10s %-9s %8s %8s %8s %8s %8s %8s %9s %9s\n' size engine decode detect landmk chip descr total "img/s(1t)" "img/s(2t)"
for size in 640x480 1280x720; do
  ls "$work/$size"/*.jpg > "$work/$size.txt"
  ours=$(OPENBLAS_NUM_THREADS=1 "$BUILD_DIR/tools/bench-face/bench-face" run "$MODELS" "$work/$size.txt" "$REPEATS")
  peer=$(node tools/bench-face/peer-face-api.js "$work/$size.txt" "$REPEATS")
  python3 - "$size" "$ours" "$peer" <<'PY'
import json, sys
size, o, p = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
f = lambda d, k: "%8.1f" % d[k] if k in d else "%8s" % "-"
print("%-10s %-9s" % (size, "veridge"), *(f(o, k + "_ms") for k in ["decode", "detect", "landmarks", "chip", "descriptor", "total"]),
      "%9.2f %9.2f" % (o["images_per_s_1thread"], o["images_per_s_2threads"]), " no_face=%d peak_rss=%.0fMB" % (o["no_face"], o["peak_rss_mb"]))
print("%-10s %-9s" % (size, "face-api"), f(p, "decode_ms"), f(p, "detect_ms"), f(p, "landmarks_ms"), "%8s" % "-",
      f(p, "descriptor_ms"), f(p, "total_ms"), "%9.2f %9s" % (p["images_per_s"], "-"), " no_face=%d" % p["no_face"])
print("%-10s ratio: veridge 2 threads / face-api = %.1fx; 1 thread = %.1fx; descriptor in the pipeline %.1f ms vs face-api %.1f ms"
      % (size, o["images_per_s_2threads"] / p["images_per_s"], o["images_per_s_1thread"] / p["images_per_s"],
         o["descriptor_ms"], p["descriptor_ms"]))
print("%-10s descriptor alone, engines interleaved on the same chips: oneDNN %.1f ms, OpenCV %.1f ms, dlib %.1f ms"
      " (dlib / oneDNN = %.2fx, OpenCV / oneDNN = %.2fx)"
      % (size, o["descriptor_loop_onednn_ms"], o["descriptor_loop_opencv_ms"], o["descriptor_loop_dlib_ms"],
         o["descriptor_loop_dlib_ms"] / o["descriptor_loop_onednn_ms"],
         o["descriptor_loop_opencv_ms"] / o["descriptor_loop_onednn_ms"]))
PY
done

# Cold start and peak RSS of `veridge face compare` (a new process each time: model load included),
# on the two first full-size photos (2-6 MP) and on two small 150 px LFW-style faces; median of 5.
small=../shared/data/faces/tv-cast-a/amy
python3 - "$BUILD_DIR/src/app/veridge" "$MODELS" "${imgs[0]}" "${imgs[1]}" "$small/amy1.png" "$small/amy2.png" <<'PY'
import os, statistics, subprocess, sys, time
exe, models, a, b, c, d = sys.argv[1:]
for label, x, y in (("full-size photos", a, b), ("small photos", c, d)):
    if not (os.path.exists(x) and os.path.exists(y)):
        continue
    times, rss, code = [], 0, 0
    for _ in range(5):
        t = time.monotonic()
        p = subprocess.Popen([exe, "face", "compare", "--json", "--model-dir", models, x, y],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, ru = os.wait4(p.pid, 0)
        times.append(time.monotonic() - t)
        rss, code = max(rss, ru.ru_maxrss / 1024), os.waitstatus_to_exitcode(status)
    print("cold start: veridge face compare, %s: median %.2f s (min %.2f, max %.2f), peak RSS %.0f MB, exit %d"
          % (label, statistics.median(times), min(times), max(times), rss, code))
PY
