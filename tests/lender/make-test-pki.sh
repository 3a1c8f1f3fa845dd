#!/usr/bin/env bash
# Generates the throw-away TLS PKI the delivery tests use, at test time, with the openssl CLI:
#   ca.pem/ca.key          the lender's CA (what [lender].ca_file trusts)
#   server.pem/server.key  the lender's server: SAN DNS:localhost, IP:127.0.0.1
#   wrongname.pem          same key, SAN DNS:wrong.example only (name-mismatch test)
#   expired.pem            same key and names, valid 2020-01-01..2021-01-01 (expired test)
#   other-ca.pem           an unrelated CA (untrusted-server test)
#   client.pem/client.key  a client certificate from ca.pem (mTLS test)
# Usage: make-test-pki.sh OUTDIR
set -euo pipefail
out=$1
mkdir -p "$out"
cd "$out"
q() { "$@" >/dev/null 2>&1; }
q openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -days 30 \
  -subj "/CN=Test Lender CA" -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
q openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout other-ca.key -out other-ca.pem -days 30 \
  -subj "/CN=Some Other CA" -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
q openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key -out server.csr -subj "/CN=localhost"
cat > good.ext <<EXT
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1
EXT
cat > wrong.ext <<EXT
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:wrong.example
EXT
q openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 -extfile good.ext -out server.pem
q openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 -extfile wrong.ext -out wrongname.pem
# An expired certificate needs explicit past dates, which only `openssl ca` takes.
mkdir -p ca-db
: > ca-db/index.txt
echo 1000 > ca-db/serial
cat > ca.cnf <<CNF
[ca]
default_ca = test
[test]
dir = ca-db
database = ca-db/index.txt
serial = ca-db/serial
new_certs_dir = ca-db
default_md = sha256
policy = any
copy_extensions = none
[any]
commonName = supplied
CNF
q openssl ca -batch -config ca.cnf -cert ca.pem -keyfile ca.key -in server.csr -out expired.pem -notext \
  -startdate 20200101000000Z -enddate 20210101000000Z -extfile good.ext
q openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout client.key -out client.csr -subj "/CN=veridge-device"
printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n' > client.ext
q openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 -extfile client.ext -out client.pem
chmod 600 ./*.key
test -s expired.pem && test -s server.pem && test -s wrongname.pem
