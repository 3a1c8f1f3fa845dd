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
