# The Debian package of Veridge (docs/packaging.md), built by CPack's DEB generator from this build:
#   cmake --build build --target veridge && cpack --config build/CPackConfig.cmake
# (tests/firmware/check-package.sh does this under CTest). It holds:
#   /usr/bin/veridge (stripped)              /usr/share/veridge/models/  (models/manifest.json's files)
#   /usr/share/veridge/kiosk/ (web/kiosk/dist) /etc/veridge/veridge.toml (conffile; the example config)
#   /lib/systemd/system/veridge.service      /usr/lib/sysusers.d/veridge.conf, /usr/lib/tmpfiles.d/veridge.conf
#   /usr/share/doc/veridge/ (copyright, changelog.gz, README.md, packaging.md), /usr/share/man/man1/veridge.1.gz
# The binary finds the models and the kiosk page under <prefix>/share/veridge (app/install_layout.h).
# Packaging never builds: cpack installs what the build made (CMAKE_SKIP_INSTALL_ALL_DEPENDENCY), and
# refuses with the command to run when a model or the kiosk page is missing.
include(GNUInstallDirs)
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)
set(CMAKE_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS
    OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
set(VERIDGE_PACKAGE_MAINTAINER "Veridge maintainers <maintainers@users.noreply.h-seed-b7639ee9.example>"
    CACHE STRING "Maintainer field of the Debian package")
set(VERIDGE_FIRMWARE_DIR ${PROJECT_SOURCE_DIR}/firmware)
set(VERIDGE_PACKAGE_DATADIR ${CMAKE_INSTALL_DATADIR}/veridge)   # must match app/install_layout.h
set(VERIDGE_PACKAGE_DOCDIR ${CMAKE_INSTALL_DATADIR}/doc/veridge)
set(VERIDGE_PACKAGE_STAGING ${PROJECT_BINARY_DIR}/package-files)

install(TARGETS veridge RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# Models and the kiosk page: checked and copied at install time (they are made after configure).
install(CODE "
  set(PROJECT_VERSION \"${PROJECT_VERSION}\")
  set(VERIDGE_MANIFEST \"${PROJECT_SOURCE_DIR}/models/manifest.json\")
  set(VERIDGE_MODEL_DIR \"${VERIDGE_DEV_MODEL_DIR}\")
  set(VERIDGE_MODEL_DEST \"\${CMAKE_INSTALL_PREFIX}/${VERIDGE_PACKAGE_DATADIR}/models\")
  set(VERIDGE_KIOSK_DIST \"${PROJECT_SOURCE_DIR}/web/kiosk/dist\")
  set(VERIDGE_KIOSK_DEST \"\${CMAKE_INSTALL_PREFIX}/${VERIDGE_PACKAGE_DATADIR}/kiosk\")
  set(VERIDGE_COPYRIGHT_IN \"${VERIDGE_FIRMWARE_DIR}/debian/copyright.in\")
  set(VERIDGE_PACKAGE_MAINTAINER \"${VERIDGE_PACKAGE_MAINTAINER}\")
  set(VERIDGE_STAGING \"${VERIDGE_PACKAGE_STAGING}\")
  set(VERIDGE_DOC_DEST \"\${CMAKE_INSTALL_PREFIX}/${VERIDGE_PACKAGE_DOCDIR}\")
  set(VERIDGE_MAN_DEST \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_MANDIR}/man1\")
  include(\"${PROJECT_SOURCE_DIR}/cmake/VeridgeInstallData.cmake\")
")

# The configuration: the example, as a conffile (firmware/debian/conffiles), readable by all (it
# holds no secret: keys, PINs and webhook secrets are files of their own, mode 0600).
install(FILES ${PROJECT_SOURCE_DIR}/config/veridge.example.toml DESTINATION /etc/veridge RENAME veridge.toml)
# Debian 12 ships units in /lib/systemd/system (merged /usr, but dpkg still tracks /lib).
install(FILES ${VERIDGE_FIRMWARE_DIR}/systemd/veridge.service DESTINATION /lib/systemd/system)
install(FILES ${VERIDGE_FIRMWARE_DIR}/sysusers.d/veridge.conf DESTINATION lib/sysusers.d)
install(FILES ${VERIDGE_FIRMWARE_DIR}/tmpfiles.d/veridge.conf DESTINATION lib/tmpfiles.d)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/docs/packaging.md DESTINATION ${VERIDGE_PACKAGE_DOCDIR})

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME veridge)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${VERIDGE_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_DIRECTORY ${PROJECT_BINARY_DIR}/package)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION misc)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "identity-verification edge appliance daemon")
# CPack puts the summary on the Description line; this is the extended description under it.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "Veridge checks that a loan applicant at a branch kiosk is the person the
application names and is physically present: face match against the
reference photo, liveness, the smart-card certificate, and a fail-closed
policy. Results are kept in an encrypted local store and delivered to the
lender as signed webhooks.
.
This package holds the veridge daemon and command, its models, the kiosk
page, the hardened systemd unit, the service user and its state directory.")
# Libraries from dpkg-shlibdeps; what the maintainer scripts and the linked model need by hand.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "systemd, init-system-helpers (>= 1.54~), libdlib-data (>= 19.24)")
# The card reader path (pcscd + the OpenSC PKCS#11 module named in [certificate]).
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "pcscd, opensc")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${VERIDGE_FIRMWARE_DIR}/debian/conffiles ${VERIDGE_FIRMWARE_DIR}/debian/postinst
    ${VERIDGE_FIRMWARE_DIR}/debian/prerm ${VERIDGE_FIRMWARE_DIR}/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
