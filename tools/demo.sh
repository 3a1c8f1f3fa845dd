#!/usr/bin/env bash
# The main job (README): sets everything up, then runs one whole verification session on the
# default input — face match + liveness → decision → encrypted store → signed webhook — and
# delivers the signed result over HTTPS to a local lender receiver that it starts, which checks it
# the way a lender would (Standard Webhooks signature + the device's JWS and certificate chain).
#
# Default input: ../shared/data/liveness/subject-b/real.mp4 as the live capture, and one frame of
# it (frame 15) as the reference photo; without ../shared, the sample photo from the npm package
# @vladmandic/face-api (a still photo: liveness rejects it). Override: tools/demo.sh REFERENCE CAPTURE.
# Everything it creates lives in var/demo/ (keys 0600, encrypted database, receiver log).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
BUILD_DIR=${BUILD_DIR:-build}
say() { printf '\n== %s\n' "$*"; }

say "set-up (packages, build, models)"
bash tools/setup-debian.sh
bash tools/setup-node.sh
bash tools/build-web.sh
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD_DIR" --target veridge extract-frame -j"$(nproc)"
bash tools/fetch-models.sh "$BUILD_DIR"
veridge=$root/$BUILD_DIR/src/app/veridge

demo=$root/var/demo
mkdir -p "$demo"
reference=${1:-}
capture=${2:-}
if [ -z "$capture" ]; then
  sample=$root/../shared/data/liveness/subject-b/real.mp4
  if [ -f "$sample" ]; then
    capture=$sample
    reference=$demo/reference.jpg
    "$root/$BUILD_DIR/tools/extract-frame/extract-frame" "$capture" 15 "$reference"
  else
    # No ../shared: fall back to input from npm — the one-face sample photo shipped in the
    # @vladmandic/face-api package that tools/fetch-models.sh already fetched (and checked). A still
    # photo is no live person, so this session is expected to be REJECTED by liveness: it shows the
    # whole path (decision, store, signed delivery) failing closed.
    echo "demo: ../shared/data is not here; using the npm sample photo demo/sample2.jpg of @vladmandic/face-api"
    tar -xzf var/cache/npm/vladmandic-face-api-1.7.15.tgz -C "$demo" package/demo/sample2.jpg
    reference=$demo/package/demo/sample2.jpg
    capture=$reference
  fi
fi

say "device identity, store key and the lender's side (var/demo)"
if [ ! -f "$demo/lender/ca.pem" ]; then
  bash tests/lender/make-test-pki.sh "$demo/lender" >/dev/null
fi
if [ ! -f "$demo/lender.whsec" ]; then
  (umask 077; echo "whsec_$(openssl rand -base64 32)" > "$demo/lender.whsec")
fi
cat > "$demo/veridge.toml" <<TOML
# Written by tools/demo.sh: the demo appliance (see config/veridge.example.toml for every key).
[device]
id = "demo-branch-kiosk-1"
key_file = "device.key"
cert_chain = "device-chain.pem"
[store]
path = "veridge.db"
key_file = "store.key"
[models]
dir = "$root/var/models"
[policy]
require = ["face", "liveness"]   # the demo has no smart card: see the certificate factor in the README
[lender]
url = "https://127.0.0.1:PORT/hooks/veridge"
webhook_secret_file = "lender.whsec"
ca_file = "lender/ca.pem"
[outbox]
retry_schedule = ["0s", "1s", "2s"]
TOML
"$veridge" keys init --config "$demo/veridge.toml"

say "starting the local lender receiver (HTTPS on 127.0.0.1)"
: > "$demo/receiver.log"
node tests/lender/receiver.mjs --cert "$demo/lender/server.pem" --key "$demo/lender/server.key" \
  --secret-file "$demo/lender.whsec" --device-ca "$demo/dev-ca.pem" --log "$demo/receiver.log" \
  --host 127.0.0.1 --port 0 > "$demo/receiver.port" &
receiver=$!
trap 'kill $receiver 2>/dev/null || true' EXIT
for _ in $(seq 50); do grep -q port "$demo/receiver.port" 2>/dev/null && break; sleep 0.1; done
port=$(sed -n 's/.*"port":\([0-9]*\).*/\1/p' "$demo/receiver.port")
[ -n "$port" ] || { echo "demo: the receiver did not start" >&2; exit 3; }
sed -i "s|127.0.0.1:[A-Z0-9]*/hooks|127.0.0.1:$port/hooks|" "$demo/veridge.toml"

say "verification session: reference $reference, capture $capture"
set +e
"$veridge" verify --config "$demo/veridge.toml" --reference "$reference" --capture "$capture" --applicant-ref "DEMO-APPLICANT-0001"
verdict=$?
set -e

say "delivering the signed result"
"$veridge" outbox run --config "$demo/veridge.toml" --until-empty
echo
echo "The lender's receiver checked the delivery (signature, JWS, device chain): $demo/receiver.log"
tail -n 1 "$demo/receiver.log"
echo "Encrypted store: $demo/veridge.db (key: $demo/store.key)"
exit $verdict
