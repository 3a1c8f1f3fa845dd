#!/usr/bin/env bash
# The hardening of veridge.service (issue 17), checked offline on the unit file:
#   1. the settings the issue names are there, with the values it names;
#   2. `systemd-analyze verify` has nothing to say about the unit (unknown or misspelt keys);
#   3. `systemd-analyze security --offline=true` scores it at most MAX (the issue: 2.0), checked both
#      with --threshold (exit status) and by reading the "Overall exposure level" line;
#   4. the same measurement on the unit with its sandbox section cut out scores above MAX, so the
#      check can fail.
#   check-unit.sh UNIT_FILE MAX     (exit 0 pass, 1 fail; "VERIDGE-SKIP" without systemd-analyze)
set -euo pipefail
UNIT=$1
MAX=$2
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v systemd-analyze >/dev/null || { echo "VERIDGE-SKIP: systemd-analyze is not installed (package systemd)"; exit 0; }
[[ -f $UNIT ]] || fail "$UNIT does not exist"
NAME=$(basename "$UNIT")
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# 1. Settings (the whole line, so "ProtectSystem=full" or a non-empty bounding set fail).
for line in Type=notify ProtectSystem=strict ReadWritePaths=/var/lib/veridge NoNewPrivileges=yes PrivateTmp=yes \
            CapabilityBoundingSet= AmbientCapabilities= SystemCallFilter=@system-service DevicePolicy=closed \
            'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX' User=veridge; do
  grep -qxF -- "$line" "$UNIT" || fail "$NAME lacks the line '$line'"
done
grep -qE '^WatchdogSec=[1-9][0-9]*(s|min)?$' "$UNIT" || fail "$NAME has no non-zero WatchdogSec="
# The only device allowed is the camera; pcscd owns the card reader (docs/packaging.md).
devices=$(grep -E '^DeviceAllow=' "$UNIT" | sort -u | tr '\n' ' ')
[[ $devices == "DeviceAllow=char-video4linux rw " ]] || fail "$NAME allows devices '$devices', expected only 'DeviceAllow=char-video4linux rw'"
grep -qE '^(SupplementaryGroups|AmbientCapabilities)=.+' "$UNIT" && fail "$NAME grants supplementary groups or ambient capabilities"
echo "ok    settings: the issue's hardening lines are in $NAME"

# 2. verify: a copy whose ExecStart names an existing program (the binary is not installed here).
mkdir "$WORK/verify"
sed 's|^ExecStart=/usr/bin/veridge|ExecStart=/bin/true|' "$UNIT" > "$WORK/verify/$NAME"
out=$(cd "$WORK/verify" && systemd-analyze verify "./$NAME" 2>&1) || fail "systemd-analyze verify failed: $out"
[[ -z $out ]] || fail "systemd-analyze verify complains about $NAME: $out"
echo "ok    systemd-analyze verify: no complaint"

# 3. The score. --threshold takes tenths (2.0 -> 20).
score_of() {  # score_of DIR: prints the overall exposure of DIR/$NAME
  (cd "$1" && systemd-analyze security --offline=true "./$NAME" 2>&1) |
    sed -n "s/^→ Overall exposure level for $NAME: \([0-9.]*\).*/\1/p"
}
mkdir "$WORK/unit" && cp "$UNIT" "$WORK/unit/$NAME"
score=$(score_of "$WORK/unit")
[[ -n $score ]] || fail "no 'Overall exposure level' line from systemd-analyze security"
tenths=$(awk -v m="$MAX" 'BEGIN { printf "%d", m * 10 + 0.5 }')
if ! (cd "$WORK/unit" && systemd-analyze security --offline=true --threshold="$tenths" "./$NAME" >/dev/null 2>&1); then
  fail "systemd-analyze security --threshold=$tenths: $NAME scores $score, above $MAX"
fi
awk -v s="$score" -v m="$MAX" 'BEGIN { exit !(s <= m) }' || fail "$NAME scores $score, above $MAX"
echo "ok    systemd-analyze security --offline=true: $NAME scores $score (at most $MAX)"

# 4. The check catches a weak unit: everything from the sandbox marker on is cut.
mkdir "$WORK/weak"
sed '/^# --- Sandbox ---/,/^\[Install\]/{/^\[Install\]/!d}' "$UNIT" > "$WORK/weak/$NAME"
weak=$(score_of "$WORK/weak")
awk -v s="$weak" -v m="$MAX" 'BEGIN { exit !(s > m) }' || fail "the unit without its sandbox section scores $weak, not above $MAX: the check cannot tell"
echo "ok    control: without its sandbox section $NAME scores $weak (above $MAX, so the check can fail)"
