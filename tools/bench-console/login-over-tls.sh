#!/usr/bin/env bash
# Console login latency end to end: a real `veridge serve` on 127.0.0.1 (TLS, throw-away PKI), one
# operator made with `veridge staff add`, then N logins with curl; prints each total time and the
# median. The argon2id setting comes from the arguments (default: the shipped [console] defaults).
# Usage: tools/bench-console/login-over-tls.sh BUILD_DIR [N=11] [MEMORY_KIB=65536] [PASSES=1]
set -euo pipefail
build=$(cd "$1" && pwd); n=${2:-11}; mem=${3:-65536}; passes=${4:-1}
src=$(cd "$(dirname "$0")/../.." && pwd)
dir=$(mktemp -d); trap 'kill "${pid:-}" 2>/dev/null || true; rm -rf "$dir"' EXIT
bash "$src/tests/lender/make-test-pki.sh" "$dir/pki"
cat > "$dir/veridge.toml" <<TOML
[device]
id = "bench-console"
key_file = "keys/device.key"
cert_chain = "keys/device-chain.pem"
[store]
path = "veridge.db"
key_file = "keys/store.key"
[models]
dir = "$dir/no-models"
[lender]
url = "https://127.0.0.1:9/h"
webhook_secret_file = "keys/lender.whsec"
ca_file = "$dir/pki/ca.pem"
[serve]
kiosk_listen = "127.0.0.1:0"
api_listen = "127.0.0.1:0"
tls_cert = "$dir/pki/server.pem"
tls_key = "$dir/pki/server.key"
[console]
argon2_memory_kib = $mem
argon2_time_cost = $passes
TOML
"$build/src/app/veridge" keys init --config "$dir/veridge.toml" >/dev/null
printf 'bench pass phrase for argon2\n' > "$dir/pw"
"$build/src/app/veridge" staff add --role operator bench --config "$dir/veridge.toml" < "$dir/pw" >/dev/null
"$build/src/app/veridge" serve --config "$dir/veridge.toml" --ready-file "$dir/ready.json" >"$dir/serve.log" 2>&1 &
pid=$!
for _ in $(seq 100); do [ -s "$dir/ready.json" ] && break; sleep 0.1; done
port=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['api']['port'])" "$dir/ready.json")
times=()
for _ in $(seq "$n"); do
  t=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' --cacert "$dir/pki/ca.pem" -H 'Content-Type: application/json' \
        --data-binary @- "https://127.0.0.1:$port/console/api/login" <<< '{"name":"bench","password":"bench pass phrase for argon2"}')
  [ "${t%% *}" = 200 ] || { echo "login answered ${t%% *}"; cat "$dir/serve.log"; exit 1; }
  times+=("${t#* }")
done
printf '%s\n' "${times[@]}" | sort -n | awk -v m="$mem" -v p="$passes" '{a[NR]=$1} END {
  printf "argon2id m=%d KiB t=%d: login over TLS median %.1f ms, min %.1f ms, max %.1f ms (n=%d)\n", m, p, a[int((NR+1)/2)]*1000, a[1]*1000, a[NR]*1000, NR }'
