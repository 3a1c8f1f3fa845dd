#!/usr/bin/env bash
# The Debian package (cmake/VeridgePackaging.cmake, docs/packaging.md), one step per CTest test:
#   check-package.sh build    BUILD_DIR SOURCE_DIR MODEL_DIR   cpack -G DEB; prints how long it took
#   check-package.sh contents BUILD_DIR SOURCE_DIR MODEL_DIR   every expected file, byte for byte
#   check-package.sh accounts BUILD_DIR SOURCE_DIR MODEL_DIR   sysusers/tmpfiles into a scratch root (root only)
#   check-package.sh layout   BUILD_DIR SOURCE_DIR MODEL_DIR   the packaged binary finds its models
#   check-package.sh lintian  BUILD_DIR SOURCE_DIR MODEL_DIR   lintian reports no error
# "build" removes the previous package first, so the other steps never look at a stale one; they
# report VERIDGE-SKIP when "build" was skipped (its inputs are missing: the reason is in
# BUILD_DIR/package/SKIPPED). Exit 0 pass, 1 fail.
set -euo pipefail
STEP=$1
BUILD=$(cd "$2" && pwd)
SRC=$(cd "$3" && pwd)
MODELS=$4
PKG_DIR=$BUILD/package
MANIFEST=$SRC/models/manifest.json
fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "VERIDGE-SKIP: $*"; exit 0; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# manifest_models: "file sha256 optional from source converted" per model, tab-separated.
manifest_models() {
  node -e '
    const m = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    for (const x of m.models) console.log([x.file, x.sha256, x.optional ? "optional" : "required",
      x.from[0], x.source, x.converted_by ? "converted" : "as-is"].join("\t"));' "$MANIFEST"
}

# the_deb: sets deb to the package firmware/package-build made (not in a subshell: it may exit).
the_deb() {
  [[ -f $PKG_DIR/SKIPPED ]] && skip "the package was not built: $(cat "$PKG_DIR/SKIPPED")"
  local debs=("$PKG_DIR"/veridge_*.deb)
  [[ -f ${debs[0]} && ${#debs[@]} -eq 1 ]] || fail "expected one veridge_*.deb in $PKG_DIR (did firmware/package-build pass?), found: ${debs[*]}"
  deb=${debs[0]}
}

case $STEP in
build)
  rm -rf "$PKG_DIR" && mkdir -p "$PKG_DIR"
  missing=""
  for t in cpack dpkg-deb dpkg-shlibdeps node; do command -v $t >/dev/null || missing+=" $t"; done
  if [[ -n $missing ]]; then echo "tools missing:$missing (run tools/setup-debian.sh)" > "$PKG_DIR/SKIPPED"; skip "$(cat "$PKG_DIR/SKIPPED")"; fi
  if [[ ! -f $SRC/web/kiosk/dist/index.html ]]; then
    echo "the kiosk page is not built: run bash tools/build-web.sh" > "$PKG_DIR/SKIPPED"; skip "$(cat "$PKG_DIR/SKIPPED")"
  fi
  while IFS=$'\t' read -r file sha optional _; do
    if [[ $optional == required && ! -e $MODELS/$file ]]; then
      echo "model $file is not in $MODELS: run bash tools/fetch-models.sh $BUILD" > "$PKG_DIR/SKIPPED"; skip "$(cat "$PKG_DIR/SKIPPED")"
    fi
  done < <(manifest_models)
  [[ -x $BUILD/src/app/veridge ]] || fail "$BUILD/src/app/veridge is not built (cmake --build $BUILD --target veridge)"
  start=$(date +%s.%N)
  cpack --config "$BUILD/CPackConfig.cmake" -B "$PKG_DIR" > "$WORK/cpack.log" 2>&1 || { cat "$WORK/cpack.log" >&2; fail "cpack failed"; }
  end=$(date +%s.%N)
  the_deb
  grep -i "warning" -A3 "$WORK/cpack.log" || true
  echo "ok    built $(basename "$deb"): $(du -k "$deb" | cut -f1) KiB in $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }') s (cpack -G DEB)"
  ;;

contents)
  the_deb
  dpkg-deb -x "$deb" "$WORK/root"
  dpkg-deb -e "$deb" "$WORK/control"
  R=$WORK/root
  same() {  # same PACKAGED SOURCE: the packaged file is the source file
    [[ -f $R/$1 ]] || fail "the package has no /$1"
    cmp -s "$R/$1" "$2" || fail "/$1 in the package differs from $2"
  }
  [[ -x $R/usr/bin/veridge ]] || fail "the package has no executable /usr/bin/veridge"
  readelf -h "$R/usr/bin/veridge" > /dev/null 2>&1 || fail "/usr/bin/veridge is not an ELF file"
  ! readelf -S "$R/usr/bin/veridge" | grep -q '\.debug_info' || fail "/usr/bin/veridge is not stripped (CPACK_STRIP_FILES)"
  same etc/veridge/veridge.toml "$SRC/config/veridge.example.toml"
  grep -qxF /etc/veridge/veridge.toml "$WORK/control/conffiles" || fail "/etc/veridge/veridge.toml is not a conffile"
  same lib/systemd/system/veridge.service "$SRC/firmware/systemd/veridge.service"
  same usr/lib/sysusers.d/veridge.conf "$SRC/firmware/sysusers.d/veridge.conf"
  same usr/lib/tmpfiles.d/veridge.conf "$SRC/firmware/tmpfiles.d/veridge.conf"
  same usr/share/veridge/kiosk/index.html "$SRC/web/kiosk/dist/index.html"
  n_assets=0
  for a in "$SRC"/web/kiosk/dist/assets/*; do same "usr/share/veridge/kiosk/assets/$(basename "$a")" "$a"; n_assets=$((n_assets + 1)); done
  for f in copyright changelog.gz; do [[ -f $R/usr/share/doc/veridge/$f ]] || fail "no /usr/share/doc/veridge/$f"; done
  [[ -f $R/usr/share/man/man1/veridge.1.gz ]] || fail "no manual page"
  for s in postinst prerm postrm; do [[ -x $WORK/control/$s ]] || fail "no executable $s maintainer script"; done
  grep -q "systemd-sysusers veridge.conf" "$WORK/control/postinst" || fail "postinst does not create the service user"
  depends=$(dpkg-deb -f "$deb" Depends)
  for d in libc6 libdlib-data systemd libsqlcipher0; do [[ $depends == *"$d"* ]] || fail "Depends lacks $d: $depends"; done
  # Models: each one in the build's model directory is packaged with the manifest's sha256; a file
  # taken as is from a Debian package is a relative link to it (and Depends names that package).
  n_models=0
  while IFS=$'\t' read -r file sha optional from source how; do
    p=$R/usr/share/veridge/models/$file
    if [[ ! -e $MODELS/$file ]]; then
      [[ $optional == optional ]] || fail "required model $file is not in $MODELS"
      [[ ! -e $p && ! -L $p ]] || fail "$file is packaged but not in $MODELS"
      echo "note  optional model $file is not in this build, so not packaged"
      continue
    fi
    if [[ $source == apt && $how == as-is && $from == /* ]]; then
      [[ -L $p ]] || fail "$file should be a link to $from (Debian package), not a copy"
      target=$(readlink "$p")
      [[ $target != /* ]] || fail "$file links to the absolute $target (lintian: relative)"
      [[ $(realpath -m "$(dirname "/usr/share/veridge/models/$file")/$target") == "$from" ]] || fail "$file links to $target, not to $from"
      [[ $(sha256sum "$from" | cut -d' ' -f1) == "$sha" ]] || fail "$from has not the manifest's sha256"
    else
      [[ -f $p && ! -L $p ]] || fail "the package has no file /usr/share/veridge/models/$file"
      [[ $(sha256sum "$p" | cut -d' ' -f1) == "$sha" ]] || fail "packaged $file has not the manifest's sha256 $sha"
    fi
    n_models=$((n_models + 1))
  done < <(manifest_models)
  same usr/share/veridge/models/manifest.json "$MANIFEST"
  # Nothing else: a file in the package that no rule above names is a mistake (a stamp, a build path).
  (cd "$R" && find . -type f -o -type l | sed 's|^\./||' | sort) > "$WORK/files"
  unexpected=$(grep -vE '^(usr/bin/veridge|etc/veridge/veridge\.toml|lib/systemd/system/veridge\.service|usr/lib/(sysusers|tmpfiles)\.d/veridge\.conf|usr/share/veridge/(kiosk/index\.html|kiosk/assets/[^/]+|models/[^/]+)|usr/share/doc/veridge/(copyright|changelog\.gz|README\.md|packaging\.md)|usr/share/man/man1/veridge\.1\.gz)$' "$WORK/files" || true)
  [[ -z $unexpected ]] || fail "unexpected files in the package: $unexpected"
  echo "ok    contents: binary, $n_models models, kiosk page (index + $n_assets assets), /etc/veridge/veridge.toml (conffile), unit, sysusers.d, tmpfiles.d, docs; $(wc -l < "$WORK/files") files, nothing else"
  ;;

accounts)
  the_deb
  [[ $(id -u) -eq 0 ]] || skip "systemd-tmpfiles must chown /var/lib/veridge to the new user: run this test as root (tools/test.sh in CI does)"
  dpkg-deb -x "$deb" "$WORK/root"
  R=$WORK/root
  # sysusers + tmpfiles as postinst runs them, into the scratch root (host passwd/group as a base).
  mkdir -p "$R/etc"
  cp /etc/passwd /etc/group "$R/etc/"
  for f in shadow gshadow; do if [[ -r /etc/$f ]]; then cp "/etc/$f" "$R/etc/"; fi; done
  for f in passwd group shadow gshadow; do if [[ -f $R/etc/$f ]]; then sed -i '/^veridge:/d' "$R/etc/$f"; fi; done
  grep -q '^video:' "$R/etc/group" || fail "this system has no group video (Debian base-passwd has it)"
  systemd-sysusers --root="$R" veridge.conf > "$WORK/sysusers.log" 2>&1 || { cat "$WORK/sysusers.log" >&2; fail "systemd-sysusers failed"; }
  uid=$(awk -F: '$1 == "veridge" { print $3 }' "$R/etc/passwd")
  [[ -n $uid ]] || fail "systemd-sysusers made no user veridge"
  shell=$(awk -F: '$1 == "veridge" { print $7 }' "$R/etc/passwd")
  [[ $shell == */nologin ]] || fail "user veridge has the shell $shell, not nologin"
  (( uid < 1000 )) || fail "user veridge has uid $uid, not a system uid"
  awk -F: '$1 == "video" { print $4 }' "$R/etc/group" | tr ',' '\n' | grep -qx veridge || fail "user veridge is not in group video (the camera)"
  systemd-tmpfiles --root="$R" --create veridge.conf > "$WORK/tmpfiles.log" 2>&1 || { cat "$WORK/tmpfiles.log" >&2; fail "systemd-tmpfiles failed"; }
  [[ $(stat -c '%a %u' "$R/var/lib/veridge") == "700 $uid" ]] || fail "/var/lib/veridge is $(stat -c '%a %u' "$R/var/lib/veridge"), not 700 owned by veridge ($uid)"
  echo "ok    sysusers.d: system user veridge (uid $uid, nologin, group video); tmpfiles.d: /var/lib/veridge 0700 veridge"
  ;;

layout)
  the_deb
  dpkg-deb -x "$deb" "$WORK/root"
  R=$WORK/root
  # The packaged binary, run from its installed place, finds and checks its models (the link to
  # libdlib-data's model resolves through the scratch root's usr/share/dlib, as Depends provides).
  ln -s /usr/share/dlib "$R/usr/share/dlib"
  (cd / && "$R/usr/bin/veridge" doctor) > "$WORK/doctor.log" 2>&1 || true
  n=0
  while IFS=$'\t' read -r file _; do
    [[ -e $R/usr/share/veridge/models/$file ]] || continue
    grep -qE "^ok +model [^:]+: $R/usr/share/veridge/models/$file sha256 ok" "$WORK/doctor.log" ||
      { cat "$WORK/doctor.log" >&2; fail "the installed veridge did not find $file in its /usr/share/veridge/models"; }
    n=$((n + 1))
  done < <(manifest_models)
  "$R/usr/bin/veridge" face embed --help | grep -qF "$R/usr/share/veridge/models" ||
    fail "the installed veridge's default model directory is not its /usr/share/veridge/models"
  echo "ok    installed layout: /usr/bin/veridge finds and checks its $n models in /usr/share/veridge/models (veridge doctor)"
  ;;

lintian)
  the_deb
  command -v lintian >/dev/null || skip "lintian is not installed (tools/setup-debian.sh installs it)"
  rc=0
  lintian --fail-on error --display-info --no-cfg "$deb" > "$WORK/lintian.log" 2>&1 || rc=$?
  grep -v "running with root privileges is not recommended" "$WORK/lintian.log" || true
  summary=$(awk '/^[EWI]: /{ n[substr($1, 1, 1)]++ } END { printf "%d errors, %d warnings, %d info", n["E"], n["W"], n["I"] }' "$WORK/lintian.log")
  (( rc == 0 )) || fail "lintian: $summary (exit $rc)"
  echo "ok    lintian $(lintian --version | awk '{print $2}'): $summary"
  ;;
*) fail "unknown step $STEP (build, contents, accounts, layout, lintian)" ;;
esac
