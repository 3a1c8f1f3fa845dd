#!/usr/bin/env bash
# Generates Veridge's test PKI with the openssl CLI into OUT_DIR (default: a new temp dir, printed).
# Every certificate and CRL is listed in tools/pki/README.md. Fixed validity dates make the results
# independent of the clock: validate at 2026-06-01T00:00:00Z unless a test says otherwise.
# The keys are throw-away test keys written next to the certificates; nothing here is committed.
# Usage: tools/pki/make-test-pki.sh [OUT_DIR]
set -euo pipefail
OUT="${1:-$(mktemp -d -t veridge-pki-XXXXXX)}"
mkdir -p "$OUT"
cd "$OUT"
export OPENSSL_CONF=/dev/null  # the system config must not add extensions or defaults

NB=20150101000000Z   # default notBefore (wide, so a leaf can expire inside its CAs' validity)
NA=20450101000000Z   # default notAfter
CRL_LU=20260101000000Z
CRL_NU=20360101000000Z

ec_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null; }
rsa_key() { openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:"$2" -out "$1.key" 2>/dev/null; }

# ext_section NAME BASIC_CONSTRAINTS KEY_USAGE [eku=LIST] [ski=VALUE] [aki=VALUE] [LINE]...
# One [NAME] section of ext.cnf, the extensions `openssl ca -extensions NAME` writes into a
# certificate. basicConstraints and keyUsage are always critical; subjectKeyIdentifier defaults to
# hash and authorityKeyIdentifier to keyid:always ("aki=" with no value: no AKI line at all, as for
# a self-signed root; "none": the extension is refused). Every other LINE ("key = value") follows.
ext_section() {
  local name=$1 bc=$2 ku=$3 eku="" ski=hash aki=keyid:always arg
  local extra=()
  shift 3
  for arg in "$@"; do
    case $arg in
      eku=*) eku=${arg#eku=} ;;
      ski=*) ski=${arg#ski=} ;;
      aki=*) aki=${arg#aki=} ;;
      *) extra+=("$arg") ;;
    esac
  done
  echo "[$name]"
  echo "basicConstraints = critical,$bc"
  echo "keyUsage = critical,$ku"
  if [ -n "$eku" ]; then echo "extendedKeyUsage = $eku"; fi
  echo "subjectKeyIdentifier = $ski"
  if [ -n "$aki" ]; then echo "authorityKeyIdentifier = $aki"; fi
  if [ ${#extra[@]} -gt 0 ]; then printf '%s\n' "${extra[@]}"; fi
}

# Extension sections used by `openssl ca` (one config file, sections chosen per certificate).
{
  ext_section ca_root CA:TRUE keyCertSign,cRLSign aki=
  ext_section ca_int CA:TRUE,pathlen:0 keyCertSign,cRLSign
  ext_section ca_any CA:TRUE keyCertSign,cRLSign
  ext_section ca_nc CA:TRUE,pathlen:0 keyCertSign,cRLSign \
    "nameConstraints = critical,permitted;DNS:example.com,permitted;email:example.com"
  ext_section ca_noaki CA:TRUE keyCertSign,cRLSign ski=none aki=none
  ext_section client CA:FALSE digitalSignature eku=clientAuth,emailProtection \
    "subjectAltName = email:alice@example.com,DNS:alice.example.com"
  ext_section client_noaki CA:FALSE digitalSignature eku=clientAuth aki=none "subjectAltName = email:noaki@example.com"
  ext_section server CA:FALSE digitalSignature eku=serverAuth "subjectAltName = DNS:lender.example.com,IP:192.0.2.10"
  ext_section server_cn_only CA:FALSE digitalSignature eku=serverAuth
  ext_section bad_ku CA:FALSE keyEncipherment eku=clientAuth "subjectAltName = email:bob@example.com"
  ext_section ca_leaf CA:TRUE digitalSignature,keyCertSign eku=clientAuth
  ext_section nc_leaf CA:FALSE digitalSignature eku=clientAuth "subjectAltName = DNS:evil.test"
  ext_section unknown_critical CA:FALSE digitalSignature eku=clientAuth \
    "1.3.6.1.4.1.55555.1 = critical,ASN1:UTF8String:must-understand"
  ext_section loop_leaf CA:FALSE digitalSignature ski=none aki=none
} > ext.cnf

# ca_init NAME: an `openssl ca` database for the CA whose key/cert are NAME.key/NAME.pem.
ca_init() {
  mkdir -p "db/$1"
  : > "db/$1/index.txt"
  echo 1000 > "db/$1/serial"
  echo 1000 > "db/$1/crlnumber"
  cat > "db/$1/ca.cnf" <<EOF
[ca]
default_ca = this
[this]
dir = db/$1
database = db/$1/index.txt
serial = db/$1/serial
crlnumber = db/$1/crlnumber
new_certs_dir = db/$1
certificate = $1.pem
private_key = $1.key
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
[any]
commonName = supplied
organizationName = optional
[crl_ext]
authorityKeyIdentifier = keyid:always
EOF
}

# issue CA NAME "CN" EXT_SECTION [md] [notBefore] [notAfter] [keytype rsa:BITS|ec]
issue() {
  local ca=$1 name=$2 cn=$3 ext=$4 md=${5:-sha256} nb=${6:-$NB} na=${7:-$NA} kt=${8:-ec}
  if [ ! -f "$name.key" ]; then
    case $kt in ec) ec_key "$name" ;; rsa:*) rsa_key "$name" "${kt#rsa:}" ;; esac
  fi
  openssl req -new -key "$name.key" -subj "/O=Veridge Test/CN=$cn" -out "$name.csr" 2>/dev/null
  if [ "$ca" = self ]; then
    ca_init "$name"
    openssl ca -batch -notext -config "db/$name/ca.cnf" -selfsign -keyfile "$name.key" -in "$name.csr" \
      -out "$name.pem" -extfile ext.cnf -extensions "$ext" -md "$md" -startdate "$nb" -enddate "$na" 2>/dev/null
  else
    openssl ca -batch -notext -config "db/$ca/ca.cnf" -in "$name.csr" -out "$name.pem" \
      -extfile ext.cnf -extensions "$ext" -md "$md" -startdate "$nb" -enddate "$na" 2>/dev/null
  fi
  rm -f "$name.csr"
}

# crl CA OUT [nextUpdate] [lastUpdate]
crl() {
  openssl ca -batch -config "db/$1/ca.cnf" -gencrl -crlexts crl_ext -out "$2" \
    -crl_lastupdate "${4:-$CRL_LU}" -crl_nextupdate "${3:-$CRL_NU}" 2>/dev/null
}

# --- the main hierarchy: root -> int -> leaves ---------------------------------------------
issue self root "Veridge Test Root CA" ca_root
issue root int "Veridge Test Issuing CA" ca_int
ca_init int
issue int leaf-valid "Alice Applicant" client
issue int leaf-expired "Expired Applicant" client sha256 20200101000000Z 20210101000000Z
issue int leaf-notyet "Future Applicant" client sha256 20300101000000Z 20350101000000Z
issue int leaf-revoked "Revoked Applicant" client
issue int leaf-badku "Bad KeyUsage Applicant" bad_ku
issue int leaf-server "lender.example.com" server
issue int leaf-cn-only "lender.example.com" server_cn_only
issue int leaf-ca "CA Flag Applicant" ca_leaf
issue int leaf-sha1 "SHA1 Applicant" client sha1
issue int leaf-rsa1024 "RSA1024 Applicant" client sha256 "$NB" "$NA" rsa:1024
issue int leaf-unknown-critical "Unknown Critical Applicant" unknown_critical
issue int leaf-noaki "No AKI Applicant" client_noaki
openssl ca -batch -config db/int/ca.cnf -revoke leaf-revoked.pem -crl_reason keyCompromise 2>/dev/null
crl root root.crl.pem
crl int int.crl.pem
crl int int-stale.crl.pem 20260102000000Z

# --- pathlen violation: int has pathlen:0, yet issues a CA (sub) that issues a leaf ------------
issue int sub "Veridge Test Sub CA (pathlen violation)" ca_any
ca_init sub
issue sub leaf-pathlen "Pathlen Applicant" client
crl sub sub.crl.pem

# --- name constraints: int-nc permits only example.com; its leaf claims evil.test ------------
issue root int-nc "Veridge Test Constrained CA" ca_nc
ca_init int-nc
issue int-nc leaf-nc "Constrained Applicant" nc_leaf
crl int-nc int-nc.crl.pem
crl root root.crl.pem   # root now also covers int-nc

# --- untrusted root: a separate hierarchy nobody trusts --------------------------------------
issue self other-root "Some Other Root CA" ca_root
issue other-root leaf-untrusted "Untrusted Applicant" client
crl other-root other-root.crl.pem

# --- cross-signed alternative path: root2 cross-certifies root (same subject and key) ---------
issue self root2 "Veridge Test Root CA 2" ca_root
cp root.key root-cross.key
issue root2 root-cross "Veridge Test Root CA" ca_any
cp root.key root-cross-sha1.key
issue root2 root-cross-sha1 "Veridge Test Root CA" ca_any sha1
crl root2 root2.crl.pem

# --- a chain of 50 CAs under root (longer than any max depth) ---------------------------------
prev=root
: > chain50.pem
for i in $(seq 1 50); do
  issue "$prev" "c$i" "Chain CA $i" ca_any
  ca_init "c$i"
  cat "c$i.pem" >> chain50.pem
  prev="c$i"
done
issue c50 leaf-chain50 "Deep Applicant" client

# --- pathological path building: 8 same-named CAs without key identifiers, all cross-issued ---
for j in $(seq 1 8); do
  ec_key "loop$j"
  openssl req -new -x509 -key "loop$j.key" -subj "/O=Veridge Test/CN=Loop CA" -days 3650 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectKeyIdentifier=none" -addext "authorityKeyIdentifier=none" -out "loopca$j.pem" 2>/dev/null
done
: > loop.pem
for i in $(seq 1 8); do
  openssl req -new -key "loop$i.key" -subj "/O=Veridge Test/CN=Loop CA" -out l.csr 2>/dev/null
  for j in $(seq 1 8); do
    openssl x509 -req -in l.csr -CA "loopca$j.pem" -CAkey "loop$j.key" -set_serial "$((i * 100 + j))" -days 3650 \
      -extfile ext.cnf -extensions ca_noaki -out "loop$i-$j.pem" 2>/dev/null
    cat "loop$i-$j.pem" >> loop.pem
  done
done
openssl req -new -key leaf-valid.key -subj "/O=Veridge Test/CN=Loop Leaf" -out l.csr 2>/dev/null
openssl x509 -req -in l.csr -CA loopca1.pem -CAkey loop1.key -set_serial 1 -days 3650 -extfile ext.cnf \
  -extensions loop_leaf -out leaf-loop.pem 2>/dev/null
rm -f l.csr loop*-*.pem
# (a certificate with a duplicate extension cannot be made with the openssl CLI, which merges
# extensions by OID: tests/pki builds one with the OpenSSL API.)

# --- bundles the tests use --------------------------------------------------------------------
cat root.crl.pem int.crl.pem sub.crl.pem int-nc.crl.pem other-root.crl.pem root2.crl.pem > crls.pem
cat root.crl.pem int-stale.crl.pem > crls-stale.pem
openssl x509 -in leaf-valid.pem -outform DER -out leaf-valid.der

# --- OCSP: responses from the issuing CA for the valid and the revoked leaf ------------------
for l in leaf-valid leaf-revoked; do
  openssl ocsp -issuer int.pem -cert "$l.pem" -no_nonce -reqout "$l.ocspreq" 2>/dev/null
  openssl ocsp -index db/int/index.txt -rsigner int.pem -rkey int.key -CA int.pem -reqin "$l.ocspreq" \
    -respout "$l.ocsp.der" -ndays 3650 2>/dev/null
  rm -f "$l.ocspreq"
done

echo "$OUT"
