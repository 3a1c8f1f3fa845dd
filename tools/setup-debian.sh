#!/usr/bin/env bash
# Installs every Debian package Veridge needs to build, test and run.
# Idempotent: packages already present are skipped; re-run at will.
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config git
  # vendors (see ARCHITECTURE.md)
  libopencv-dev libdnnl-dev libdlib-dev libdlib-data liblapack-dev libblas-dev libopenblas0-pthread
  libjpeg62-turbo-dev  # capture/ decodes JPEGs with libjpeg directly (warnings are errors)
  libboost1.81-dev libssl-dev openssl libsqlcipher-dev sqlcipher sqlite3
  nlohmann-json3-dev libtomlplusplus-dev libcli11-dev libspdlog-dev
  softhsm2 opensc libp11-kit-dev
  # veridge serve: sd_notify (Type=notify, watchdog)
  libsystemd-dev
  # console/: staff password hashes (argon2id)
  libargon2-dev
  # tests and benchmarks
  catch2 libbenchmark-dev
  libfaiss-dev  # only tools/bench-fraud links FAISS (the flat scan against IndexFlatL2/IVF); the product does not
  # the Debian package and its static checks (tests/firmware): lintian, and systemd's offline tools
  # (systemd-analyze security/verify, systemd-sysusers, systemd-tmpfiles; a container may lack them)
  lintian systemd
  # the image definition's checks (tests/firmware/check-image.sh): mkosi 14 reads it, nft parses the firewall
  mkosi nftables
  # fuzzing (tools/fuzz.sh): Debian's clang 14 and its libFuzzer/sanitizer runtimes
  clang-14 libclang-rt-14-dev
  # model packages and lender-side tests come from npm
  nodejs npm
  # the kiosk page: Chromium shows it (kiosk mode on the appliance, headless in the tests), with CJK glyphs for zh-CN
  chromium fonts-wqy-microhei
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# node/npm may come from outside Debian (e.g. NodeSource or a preinstalled binary): accept any working ones.
if command -v node >/dev/null && command -v npm >/dev/null; then
  filtered=(); for p in "${missing[@]}"; do [[ $p == nodejs || $p == npm ]] || filtered+=("$p"); done
  missing=("${filtered[@]}")
fi

if ((${#missing[@]})); then
  echo "setup: installing ${#missing[@]} Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: all Debian packages present"
fi
