# Install-time part of cmake/VeridgePackaging.cmake: the models and the kiosk page (made after
# configure, by tools/fetch-models.sh and tools/build-web.sh), the generated copyright and
# changelog. Fails, naming the command to run, when an input is missing or a model's sha256 is not
# the manifest's; never packages an unchecked model.
# In: VERIDGE_MANIFEST, VERIDGE_MODEL_DIR, VERIDGE_MODEL_DEST, VERIDGE_KIOSK_DIST, VERIDGE_KIOSK_DEST,
#     VERIDGE_COPYRIGHT_IN, VERIDGE_PACKAGE_MAINTAINER, VERIDGE_STAGING, VERIDGE_DOC_DEST, VERIDGE_MAN_DEST,
#     PROJECT_VERSION.

# --- Models: every manifest entry; a required one must be there, an optional one may be absent.
file(READ "${VERIDGE_MANIFEST}" manifest)
string(JSON count LENGTH "${manifest}" models)
math(EXPR last "${count} - 1")
set(VERIDGE_MODEL_LIST "")
set(absent "")
foreach(i RANGE ${last})
  string(JSON name GET "${manifest}" models ${i} name)
  string(JSON file GET "${manifest}" models ${i} file)
  string(JSON sha GET "${manifest}" models ${i} sha256)
  string(JSON source GET "${manifest}" models ${i} source)
  string(JSON package ERROR_VARIABLE no_package GET "${manifest}" models ${i} package)
  string(JSON licence GET "${manifest}" models ${i} licence)
  string(JSON optional ERROR_VARIABLE no_optional GET "${manifest}" models ${i} optional)
  string(JSON converted ERROR_VARIABLE not_converted GET "${manifest}" models ${i} converted_by)
  string(JSON from GET "${manifest}" models ${i} from 0)
  set(src "${VERIDGE_MODEL_DIR}/${file}")
  if(NOT EXISTS "${src}")
    if(optional)
      list(APPEND absent ${file})
      continue()
    endif()
    message(FATAL_ERROR "package: model ${file} (${name}) is not in ${VERIDGE_MODEL_DIR}: run `bash tools/fetch-models.sh BUILD_DIR` first")
  endif()
  file(SHA256 "${src}" actual)
  if(NOT actual STREQUAL sha)
    message(FATAL_ERROR "package: ${src} has sha256 ${actual}, not the manifest's ${sha}: refusing to package it (re-run tools/fetch-models.sh)")
  endif()
  if(source STREQUAL "apt" AND not_converted AND IS_ABSOLUTE "${from}")
    # A file of a Debian package used as is (the 100 MB landmark model of libdlib-data): a relative
    # link to it, and the package Depends on that package (cmake/VeridgePackaging.cmake).
    file(RELATIVE_PATH target "${VERIDGE_MODEL_DEST}" "${from}")
    file(MAKE_DIRECTORY "$ENV{DESTDIR}${VERIDGE_MODEL_DEST}")
    file(CREATE_LINK "${target}" "$ENV{DESTDIR}${VERIDGE_MODEL_DEST}/${file}" SYMBOLIC)
    string(APPEND VERIDGE_MODEL_LIST "\n  ${file}: link to ${from} (Debian package ${package})\n    Licence: ${licence}\n")
  else()
    file(INSTALL "${src}" DESTINATION "${VERIDGE_MODEL_DEST}" FOLLOW_SYMLINK_CHAIN
         PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
    string(APPEND VERIDGE_MODEL_LIST "\n  ${file} (from ${source})\n    Licence: ${licence}\n")
  endif()
endforeach()
if(absent)
  message(WARNING "package: optional models not in ${VERIDGE_MODEL_DIR}, so not packaged: ${absent}")
  string(APPEND VERIDGE_MODEL_LIST "\n  Not in this build: ${absent}\n")
endif()
file(INSTALL "${VERIDGE_MANIFEST}" DESTINATION "${VERIDGE_MODEL_DEST}")

# --- The kiosk page.
if(NOT EXISTS "${VERIDGE_KIOSK_DIST}/index.html")
  message(FATAL_ERROR "package: the kiosk page is not built (${VERIDGE_KIOSK_DIST}/index.html): run `bash tools/build-web.sh` first")
endif()
file(INSTALL "${VERIDGE_KIOSK_DIST}/" DESTINATION "${VERIDGE_KIOSK_DEST}"
     FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ
     PATTERN ".*" EXCLUDE)

# --- copyright, changelog.gz, veridge.1.gz (gzip -n: no name or time stamp, so the package is reproducible).
configure_file("${VERIDGE_COPYRIGHT_IN}" "${VERIDGE_STAGING}/copyright" @ONLY)
configure_file("${CMAKE_CURRENT_LIST_DIR}/../firmware/debian/changelog.in" "${VERIDGE_STAGING}/changelog" @ONLY)
configure_file("${CMAKE_CURRENT_LIST_DIR}/../firmware/debian/veridge.1" "${VERIDGE_STAGING}/veridge.1" @ONLY)
execute_process(COMMAND gzip -9nf "${VERIDGE_STAGING}/changelog" "${VERIDGE_STAGING}/veridge.1" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "package: gzip of the changelog and the manual page failed (${rc})")
endif()
file(INSTALL "${VERIDGE_STAGING}/veridge.1.gz" DESTINATION "${VERIDGE_MAN_DEST}"
     PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
file(INSTALL "${VERIDGE_STAGING}/copyright" "${VERIDGE_STAGING}/changelog.gz" DESTINATION "${VERIDGE_DOC_DEST}"
     PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
