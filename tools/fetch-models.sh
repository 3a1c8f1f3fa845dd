#!/usr/bin/env bash
# Fills the development model directory (var/models, or $VERIDGE_MODEL_DIR) from the package
# registries, checking every file against models/manifest.json. Idempotent: files already present
# with the right sha256 are left alone. Nothing is downloaded at run time.
#
#   tools/fetch-models.sh [BUILD_DIR]     # BUILD_DIR (default: build) holds the converter target
#
# Sources: npm @vladmandic/face-api (descriptor weights, converted to dlib format by
# tools/convert-face-model), apt libdlib-data (68 landmarks), ../shared/models (YuNet, MiniFASNet)
# when present. Exit 0 when every required model is in place; non-zero with a message otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD_DIR=${1:-build}
MANIFEST=$ROOT/models/manifest.json
MODEL_DIR=${VERIDGE_MODEL_DIR:-$ROOT/var/models}
CACHE=$ROOT/var/cache
SHARED_MODELS=${VERIDGE_SHARED_DIR:-$ROOT/../shared}/models

log() { echo "fetch-models: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }
command -v node >/dev/null || die "node is needed to read models/manifest.json: run tools/setup-debian.sh"

# manifest_get <section> <name> <field>
manifest_get() {
  node -e '
    const m = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const e = m[process.argv[2]].find(x => x.name === process.argv[3]);
    if (!e || e[process.argv[4]] === undefined) process.exit(1);
    const v = e[process.argv[4]];
    console.log(Array.isArray(v) ? v[0] : v);' "$MANIFEST" "$1" "$2" "$3"
}
sha_of() { sha256sum "$1" | cut -d' ' -f1; }
has_sha() { [[ -f "$1" ]] && [[ "$(sha_of "$1")" == "$2" ]]; }

mkdir -p "$MODEL_DIR" "$CACHE/npm"

# 1. The npm package with the descriptor weights, pinned and checked.
PKG=@vladmandic/face-api
PKG_VERSION=$(manifest_get packages "$PKG" version)
PKG_FILE=$(manifest_get packages "$PKG" file)
PKG_SHA=$(manifest_get packages "$PKG" sha256)
TARBALL=$CACHE/npm/$PKG_FILE
if ! has_sha "$TARBALL" "$PKG_SHA"; then
  command -v npm >/dev/null || die "npm is needed: run tools/setup-debian.sh"
  log "npm pack $PKG@$PKG_VERSION"
  rm -f "$TARBALL"
  (cd "$CACHE/npm" && npm pack --silent "$PKG@$PKG_VERSION" >/dev/null)
  has_sha "$TARBALL" "$PKG_SHA" || die "$TARBALL: sha256 $(sha_of "$TARBALL") is not the manifest's $PKG_SHA; refusing it"
fi

# [PREPARE=FUNCTION] derive_model NAME CONVERTER_ARGS...: makes the manifest's model NAME with
# tools/convert-face-model (deterministic, so the result must have the manifest's sha256), unless it
# is already in place. PREPARE, when set, runs first, only when the model has to be made.
derive_model() {
  local name=$1; shift
  local file sha
  file=$(manifest_get models "$name" file)
  sha=$(manifest_get models "$name" sha256)
  if has_sha "$MODEL_DIR/$file" "$sha"; then log "ok $file"; return; fi
  if [[ -n "${PREPARE:-}" ]]; then "$PREPARE"; fi
  [[ -f "$BUILD_DIR/build.ninja" || -f "$BUILD_DIR/Makefile" ]] \
    || die "build dir '$BUILD_DIR' is not configured: run cmake -S . -B $BUILD_DIR -G Ninja first"
  cmake --build "$BUILD_DIR" --target convert-face-model >/dev/null
  "$BUILD_DIR/tools/convert-face-model/convert-face-model" "$@" --out "$MODEL_DIR/$file.new" >/dev/null
  has_sha "$MODEL_DIR/$file.new" "$sha" \
    || { rm -f "$MODEL_DIR/$file.new"; die "made $file with sha256 $(sha_of "$MODEL_DIR/$file.new" 2>/dev/null), not $sha (different dlib version or converter?)"; }
  chmod 0644 "$MODEL_DIR/$file.new" && mv -f "$MODEL_DIR/$file.new" "$MODEL_DIR/$file"
  log "made $file"
}

# 2. Descriptor: the TF.js weights converted to a dlib model.
EXTRACT=$CACHE/face-api-$PKG_VERSION
extract_face_api_weights() {
  rm -rf "$EXTRACT" && mkdir -p "$EXTRACT"
  tar -xzf "$TARBALL" -C "$EXTRACT" package/model/face_recognition_model.bin \
      package/model/face_recognition_model-weights_manifest.json
}
PREPARE=extract_face_api_weights derive_model dlib_face_recognition_resnet_model_v1 \
  --manifest "$EXTRACT/package/model/face_recognition_model-weights_manifest.json" \
  --weights "$EXTRACT/package/model/face_recognition_model.bin"

# 3. 68-point landmarks from Debian's libdlib-data (linked, it is 100 MB).
LM_FILE=$(manifest_get models shape_predictor_68_face_landmarks file)
LM_SHA=$(manifest_get models shape_predictor_68_face_landmarks sha256)
LM_SRC=$(manifest_get models shape_predictor_68_face_landmarks from)
if ! has_sha "$MODEL_DIR/$LM_FILE" "$LM_SHA"; then
  [[ -f "$LM_SRC" ]] || die "$LM_SRC missing: apt-get install libdlib-data (tools/setup-debian.sh)"
  has_sha "$LM_SRC" "$LM_SHA" || die "$LM_SRC has sha256 $(sha_of "$LM_SRC"), not the manifest's $LM_SHA"
  ln -sfn "$LM_SRC" "$MODEL_DIR/$LM_FILE"
fi
log "ok $LM_FILE (iBUG 300-W terms: no commercial use)"

# 3b. The same landmark model in the flat form vision/ loads ~0.6 s faster (cold start). The
# converter refuses unless the flat file rebuilds dlib's file byte for byte.
derive_model shape_predictor_68_face_landmarks_flat --landmarks "$LM_SRC"

# 3c. dlib's built-in HOG face detector, serialised once here so no process spends ~0.4 s
# rebuilding it from the compressed copy inside libdlib.
derive_model dlib_frontal_face_detector --hog-detector

# 4. Optional models from ../shared/models (not in any registry).
for name in yunet yunet_a61a42892 minifasnet_v2 minifasnet_v1se; do
  file=$(manifest_get models "$name" file)
  sha=$(manifest_get models "$name" sha256)
  src=$(manifest_get models "$name" from)
  src=$SHARED_MODELS/${src#../shared/models/}
  if has_sha "$MODEL_DIR/$file" "$sha"; then log "ok $file"; continue; fi
  if [[ ! -f "$src" ]]; then log "skip $file (optional; $src not present)"; continue; fi
  has_sha "$src" "$sha" || die "$src has sha256 $(sha_of "$src"), not the manifest's $sha"
  cp -f "$src" "$MODEL_DIR/$file.new" && chmod 0644 "$MODEL_DIR/$file.new" && mv -f "$MODEL_DIR/$file.new" "$MODEL_DIR/$file"
  log "copied $file"
done
log "models ready in $MODEL_DIR"
