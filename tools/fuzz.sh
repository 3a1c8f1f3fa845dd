#!/usr/bin/env bash
# tools/fuzz.sh TARGET SECONDS — builds (if needed) and runs one libFuzzer target of fuzz/ for
# SECONDS with its seeds; `tools/fuzz.sh all SECONDS` runs each in turn.
# Targets: image (probe + bounded decode), pki (X.509/CRL/OCSP, validator inputs), config (TOML),
#          webhook (headers file, signature, body, JWS attestation), http (serve's request parser and
#          router with the /v1 API over a real SQLCipher store). No watchlist-bundle target: src/fraud
#          has no bundle parser yet.
#
# Build: clang++-14 -fsanitize=fuzzer,address,undefined in build-fuzz/ (FUZZ_BUILD_DIR), a build
# directory of its own (-DVERIDGE_FUZZ=ON, no tests or benchmarks); the normal build is untouched.
# Seeds: copied at run time from ../shared/data (faces, NIST PKITS), config/veridge.example.toml
# and the Standard Webhooks example into build-fuzz/corpus/TARGET/ (never committed); the corpus
# grows there between runs. Without ../shared/data a target starts from the few built-in seeds.
# Output: per target, the executions, coverage (libFuzzer's cov/ft), and any crash file under
# build-fuzz/crashes/TARGET/. Exit status: 0 no crash, 1 a crash (or leak/timeout/OOM) was found,
# 2 bad usage or build failure. Logs: build-fuzz/logs/TARGET.log.
# Environment: FUZZ_JOBS (default 1: one process per target), FUZZ_ARGS (more libFuzzer flags).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TARGETS=(image pki config webhook http)
BUILD=${FUZZ_BUILD_DIR:-build-fuzz}
SHARED=${VERIDGE_SHARED_DIR:-$ROOT/../shared}

usage() { echo "usage: tools/fuzz.sh TARGET|all SECONDS   (targets: ${TARGETS[*]})" >&2; exit 2; }
[[ $# -eq 2 ]] || usage
[[ $2 =~ ^[0-9]+$ && $2 -gt 0 ]] || { echo "fuzz.sh: SECONDS must be a positive whole number, got '$2'" >&2; exit 2; }
WHICH=$1 SECONDS_PER=$2
if [[ $WHICH != all ]] && ! printf '%s\n' "${TARGETS[@]}" | grep -qx "$WHICH"; then
  echo "fuzz.sh: unknown target '$WHICH'" >&2; usage
fi
command -v clang++-14 >/dev/null || { echo "fuzz.sh: clang++-14 missing: run tools/setup-debian.sh (clang-14, libclang-rt-14-dev)" >&2; exit 2; }

export CCACHE_BASEDIR=$ROOT CCACHE_NOHASHDIR=1
build() {
  if [[ ! -f $BUILD/build.ninja ]]; then
    cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++-14 \
      -DVERIDGE_FUZZ=ON -DVERIDGE_BUILD_TESTS=OFF -DVERIDGE_BUILD_BENCH=OFF >/dev/null
  fi
  cmake --build "$BUILD" --target "$@" -j"$(nproc)" || { echo "fuzz.sh: build failed" >&2; exit 2; }
}

# b64url of stdin, no padding (for the JWS seeds).
b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }

seed() {  # seed TARGET DIR: fills DIR once (an existing corpus is kept and grows)
  local t=$1 d=$2 f i=0
  [[ -n $(ls -A "$d" 2>/dev/null) ]] && return 0
  mkdir -p "$d"
  local pkits=$SHARED/data/pki/pkits/data
  case $t in
    image)
      # A spread of formats and sizes: PGM (orl), PNG and JPEG; small files keep executions fast.
      if [[ -d $SHARED/data/faces ]]; then
        for ext in pgm png jpg; do
          find "$SHARED/data/faces" -type f -name "*.$ext" -size -120k | sort | awk 'NR <= 40' |
            while read -r f; do cp "$f" "$d/$(basename "$(dirname "$f")")-$(basename "$f")"; done
        done
      fi
      printf 'P5\n2 2\n255\n\x00\x10\x20\x30' >"$d/tiny.pgm"
      printf 'BM' >"$d/bm-head"
      ;;
    pki)
      if [[ -d $pkits ]]; then
        for f in "$pkits"/certs/*EE.crt; do { printf '\x00'; cat "$f"; } >"$d/leaf-$(basename "$f")"; done
        for f in "$pkits"/crls/*.crl; do { printf '\x01'; cat "$f"; } >"$d/crl-$(basename "$f")"; done
        for f in "$pkits"/certs/*CACert.crt; do { printf '\x02'; cat "$f"; } >"$d/ca-$(basename "$f")"; done
        { printf '\x04'; cat "$pkits/certs/TrustAnchorRootCertificate.crt"; } >"$d/anchor"
        { printf '\x04'; openssl x509 -inform DER -in "$pkits/certs/TrustAnchorRootCertificate.crt"; } >"$d/anchor-pem"
        { printf '\x05'; cat "$pkits/certs/GoodCACert.crt"; } >"$d/describe"
      fi
      printf '\x052026-12-02T15:43:42Z' >"$d/rfc3339"
      ;;
    config)
      cp config/veridge.example.toml "$d/example.toml"
      printf 'retry = "5s"\n[outbox]\nretry_schedule = ["1s", "5m", "2h"]\n' >"$d/durations.toml"
      ;;
    webhook)
      local hdr='{"webhook-id":"msg_p5jXN8AQM9LWM0D4loKWxJek","webhook-timestamp":"1614265330","webhook-signature":"v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="}'
      { printf '%s\0' "$hdr"; printf '{"test": 2432232314}'; } >"$d/standard-webhooks-json"
      { printf 'POST /hook HTTP/1.1\r\nwebhook-id: msg_p5jXN8AQM9LWM0D4loKWxJek\r\nwebhook-timestamp: 1614265330\r\n'
        printf 'webhook-signature: v1,AAAA v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=\r\n\r\n\0{"test": 2432232314}'; } >"$d/standard-webhooks-lines"
      if [[ -d $pkits ]]; then
        local x5c h p
        x5c=$(base64 -w0 <"$pkits/certs/GoodCACert.crt")
        h=$(printf '{"alg":"ES256","kid":"dev","x5c":["%s"]}' "$x5c" | b64url)
        p=$(printf '{"decision":"approved","session_id":"s1"}' | b64url)
        { printf '%s\0' "$hdr"; printf '{"type":"session.decided","data":{"decision":"approved","session_id":"s1","attestation":"%s.%s.%s"}}' \
            "$h" "$p" "$(head -c 64 /dev/zero | b64url)"; } >"$d/attestation"
      fi
      ;;
    http)
      printf 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n' >"$d/healthz"
      printf 'GET /v1/sessions/s-1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer @\r\n\r\n' >"$d/session-authed"
      printf 'GET /v1/sessions/a%%2Fb?x=1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer vdg_nope\r\n\r\n' >"$d/session-badtoken"
      printf 'POST /v1/sessions/s-1 HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}' >"$d/post-405"
      printf 'POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n' >"$d/chunked"
      printf 'GET /v1/sessions/@sid HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer @\r\n\r\n' >"$d/session-existing"
      printf 'POST /v1/sessions/@sid/cancel HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer @\r\nContent-Length: 0\r\n\r\n' >"$d/cancel"
      local body i=0
      # session creation: accepted (4-byte JPEG), refused by the check (6 bytes), a PNG, bad fields
      for body in '{"applicant_ref":"A-1","reference_image":"/9j/4A==","factors":["face","liveness"],"locale":"en","expires_in":600}' \
                  '{"applicant_ref":"A-2","reference_image":"/9j/4AAQ","factors":["face"],"locale":"zh-CN"}' \
                  '{"applicant_ref":"A-3","reference_image":"iVBORw0KGgo=","factors":["certificate"],"locale":"en"}' \
                  '{"applicant_ref":"\u0001","reference_image":"!!","factors":["face","face"],"locale":"fr","expires_in":1e99,"x":1}'; do
        i=$((i + 1))
        printf 'POST /v1/sessions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer @\r\nIdempotency-Key: k-%d\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s' \
          "$i" "${#body}" "$body" >"$d/create-$i"
      done
      ;;
  esac
}

run() {  # run TARGET SECONDS
  local t=$1 secs=$2
  local corpus=$BUILD/corpus/$t crashes=$BUILD/crashes/$t log=$BUILD/logs/$t.log
  mkdir -p "$crashes" "$BUILD/logs"
  seed "$t" "$corpus"
  local env=()
  if [[ $t == webhook && -f $SHARED/data/pki/pkits/data/certs/TrustAnchorRootCertificate.crt ]]; then
    openssl x509 -inform DER -in "$SHARED/data/pki/pkits/data/certs/TrustAnchorRootCertificate.crt" -out "$BUILD/corpus/webhook-trust.pem"
    env=(VERIDGE_FUZZ_WEBHOOK_TRUST="$BUILD/corpus/webhook-trust.pem")
  fi
  echo "== fuzz $t: ${secs}s, corpus $corpus ($(ls "$corpus" | wc -l) files)"
  local rc=0 start=$SECONDS
  # -timeout: one input over 25 s is a hang (reported as a crash); -rss_limit_mb: bounded memory.
  env "${env[@]}" ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$BUILD/fuzz/fuzz_$t" -max_total_time="$secs" -timeout=25 -rss_limit_mb=2560 -max_len=65536 \
    -print_final_stats=1 -artifact_prefix="$crashes/" ${FUZZ_ARGS:-} "$corpus" >"$log" 2>&1 || rc=$?
  local last execs
  last=$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)
  execs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}' || true)
  echo "   ran $((SECONDS - start))s, executions ${execs:-?}, last: ${last:-none}"
  echo "   corpus now $(ls "$corpus" | wc -l) files; log $log"
  local found
  found=$(ls "$crashes" 2>/dev/null || true)
  if [[ $rc -ne 0 || -n $found ]]; then
    echo "   CRASH (libFuzzer exit $rc): $(grep -m1 -E 'ERROR: |runtime error|deadly signal|timeout' "$log" || echo 'see the log')"
    for f in $found; do echo "   crash file: $crashes/$f  (reproduce: $BUILD/fuzz/fuzz_$t $crashes/$f)"; done
    return 1
  fi
  echo "   no crash"
}

if [[ $WHICH == all ]]; then
  build "${TARGETS[@]/#/fuzz_}"
  status=0
  for t in "${TARGETS[@]}"; do run "$t" "$SECONDS_PER" || status=1; done
  exit $status
fi
build "fuzz_$WHICH"
run "$WHICH" "$SECONDS_PER"
