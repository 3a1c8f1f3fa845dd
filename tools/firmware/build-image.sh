#!/usr/bin/env bash
# Builds the appliance image (firmware/mkosi, mkosi 14) from the Debian package of this build.
# FIRST SLICE: written, its definition checked (CTest firmware/image-definition), NOT YET RUN
# here; the boot test (tools/firmware/test-image.sh) is still to come. docs/packaging.md, "The image".
#   tools/firmware/build-image.sh [BUILD_DIR]    (as root; network for the Debian mirror)
# Needs build/package/veridge_*.deb (cpack --config BUILD_DIR/CPackConfig.cmake, or
# ctest -R firmware/package-build). Writes firmware/mkosi/mkosi.output/debian~bookworm/veridge.raw.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD_DIR=${1:-build}
die() { echo "build-image: ERROR: $*" >&2; exit 1; }
command -v mkosi >/dev/null || die "mkosi is not installed: apt-get install mkosi (Debian 12: mkosi 14)"
[[ $(id -u) -eq 0 ]] || die "mkosi needs root (loop devices, systemd-nspawn): run as root"
debs=("$BUILD_DIR"/package/veridge_*.deb)
[[ -f ${debs[0]} && ${#debs[@]} -eq 1 ]] || die "expected one $BUILD_DIR/package/veridge_*.deb: run cpack --config $BUILD_DIR/CPackConfig.cmake first"
# The package goes into the skeleton tree (copied in before the packages); mkosi.prepare installs it.
SKELETON=firmware/mkosi/mkosi.skeleton
rm -rf "$SKELETON" && mkdir -p "$SKELETON/var/cache/veridge"
cp "${debs[0]}" "$SKELETON/var/cache/veridge/"
start=$(date +%s)
mkosi -C firmware/mkosi --force build
echo "build-image: built in $(( $(date +%s) - start )) s: firmware/mkosi/mkosi.output/debian~bookworm/veridge.raw"
