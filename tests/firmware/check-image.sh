#!/usr/bin/env bash
# The image definition (firmware/mkosi), checked without building it:
#   - mkosi 14 reads it (`mkosi summary`) and sees Debian 12 x86_64, a bootable GPT/ext4 image, the
#     packages the issue names, and the prepare/postinst scripts;
#   - the scripts parse (sh -n); the firewall parses (`nft -c -f`) and opens only the API port to
#     new connections; journald has a size limit.
#   check-image.sh SOURCE_DIR    (exit 0 pass, 1 fail; VERIDGE-SKIP when mkosi or nft is missing)
set -euo pipefail
DIR=$(cd "$1/firmware/mkosi" && pwd)
fail() { echo "FAIL: $*" >&2; exit 1; }
for t in mkosi nft; do command -v $t >/dev/null || { echo "VERIDGE-SKIP: $t is not installed (apt-get install mkosi nftables)"; exit 0; }; done
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

(cd "$DIR" && mkosi --output-dir="$WORK/out" summary) > "$WORK/summary" 2>&1 || { cat "$WORK/summary" >&2; fail "mkosi summary failed"; }
field() { sed -n "s/^ *$1: *//p" "$WORK/summary" | head -1; }
[[ $(field Distribution) == debian && $(field Release) == bookworm && $(field Architecture) == x86_64 ]] ||
  fail "not Debian bookworm x86_64: $(field Distribution) $(field Release) $(field Architecture)"
[[ $(field "Output Format") == gpt_ext4 && $(field Bootable) == yes ]] || fail "not a bootable gpt_ext4 image"
packages=$(sed -n '/^ *Packages:/,/^ *[A-Z][A-Za-z ]*:/p' "$WORK/summary" | sed 's/^ *Packages://' | tr -s ' \n' ' ')
for p in linux-image-amd64 systemd-timesyncd pcscd p11-kit nftables; do
  [[ " $packages " == *" $p "* ]] || fail "the image does not install $p (packages: $packages)"
done
[[ $(field "Prepare Script") == "$DIR/mkosi.prepare" && $(field "Postinstall Script") == "$DIR/mkosi.postinst" ]] ||
  fail "mkosi does not see mkosi.prepare and mkosi.postinst"
grep -q 'Warning' "$WORK/summary" && fail "mkosi warns: $(grep Warning "$WORK/summary")"
for s in mkosi.prepare mkosi.postinst; do sh -n "$DIR/$s" || fail "$s does not parse"; done
echo "ok    mkosi $(mkosi --version 2>/dev/null | awk '{print $2}'): Debian bookworm x86_64, bootable gpt_ext4, packages and scripts in place"

NFT=$DIR/mkosi.extra/etc/nftables.conf
# nft -c asks the kernel to check the rules, which needs CAP_NET_ADMIN: as root, or in a user + net
# namespace of its own.
if [[ $(id -u) -eq 0 ]]; then nft_check=(nft); else nft_check=(unshare --user --map-root-user --net nft); fi
if ! "${nft_check[@]}" -c -f "$NFT" > "$WORK/nft.log" 2>&1; then
  if grep -q "Operation not permitted" "$WORK/nft.log"; then
    echo "VERIDGE-SKIP: nft -c needs CAP_NET_ADMIN (root, or unprivileged user namespaces): the firewall was not checked"; exit 0
  fi
  cat "$WORK/nft.log" >&2; fail "nft -c rejects $NFT"
fi
grep -qE 'type filter hook input priority filter; policy drop;' "$NFT" || fail "the input chain does not drop by default"
opened=$(grep -oE '(tcp|udp) dport [0-9]+' "$NFT" | sort -u | tr '\n' ',')
[[ $opened == "tcp dport 8443,udp dport 546,udp dport 68," ]] || fail "ports opened: $opened (expected only tcp 8443, and DHCP replies)"
echo "ok    nftables: parses; input drops by default and admits only tcp/8443 (and DHCP replies)"

J=$DIR/mkosi.extra/etc/systemd/journald.conf.d/veridge.conf
grep -qE '^SystemMaxUse=[0-9]+[KMG]$' "$J" || fail "$J sets no SystemMaxUse"
grep -qE '^RuntimeMaxUse=[0-9]+[KMG]$' "$J" || fail "$J sets no RuntimeMaxUse"
echo "ok    journald: $(grep -E '^(SystemMaxUse|RuntimeMaxUse)=' "$J" | tr '\n' ' ')"
