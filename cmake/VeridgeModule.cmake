# veridge_module(NAME SOURCES ... DEPS ...)
# Declares the static library veridge_<NAME> for src/<NAME>/, whose public header(s) are included
# as "<NAME>/header.h" from src/.
function(veridge_module name)
  cmake_parse_arguments(M "" "" "SOURCES;DEPS" ${ARGN})
  add_library(veridge_${name} STATIC ${M_SOURCES})
  target_include_directories(veridge_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(veridge_${name} PUBLIC ${M_DEPS})
endfunction()

# veridge_test(NAME SOURCES ... DEPS ...)
# A Catch2 test executable test_<NAME>, registered with CTest test by test.
function(veridge_test name)
  cmake_parse_arguments(T "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(test_${name} ${T_SOURCES})
  target_link_libraries(test_${name} PRIVATE veridge_test_main ${T_DEPS})
  target_compile_definitions(test_${name} PRIVATE
    VERIDGE_SHARED_DIR="${VERIDGE_SHARED_DIR}"
    VERIDGE_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    VERIDGE_BINARY_DIR="${PROJECT_BINARY_DIR}"
    VERIDGE_DEV_MODEL_DIR="${VERIDGE_DEV_MODEL_DIR}")
  catch_discover_tests(test_${name} TEST_PREFIX "${name}/"
    PROPERTIES SKIP_REGULAR_EXPRESSION "VERIDGE-SKIP")
endfunction()

# veridge_coroutine_sources(FILE ...)
# Files with C++20 coroutines. Clang before 17 cannot emit UBSan's -fsanitize=function prologue for
# a split coroutine ("error: Cannot represent a difference across sections", whatever the -g level;
# llvm/llvm-project#49689), so in a clang build with that check on (VERIDGE_FUZZ, or VERIDGE_SANITIZE
# naming undefined or function) these files go without that one check; every other check stays on.
# GCC has no -fsanitize=function and is left alone.
function(veridge_coroutine_sources)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 17
     AND (VERIDGE_FUZZ OR VERIDGE_SANITIZE MATCHES "undefined|function"))
    set_source_files_properties(${ARGN} DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}
                                PROPERTIES COMPILE_OPTIONS "-fno-sanitize=function")
  endif()
endfunction()
