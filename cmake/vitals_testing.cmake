# Test helpers shared by every folder: adapter families keep their tests in their own folder
# (adapters/<family>/tests/), the other top-level folders under tests/.
find_package(Catch2 2 REQUIRED)
include(Catch)
enable_testing()

# One Catch2 main, compiled once for every test executable.
add_library(vitals_catch_main STATIC ${PROJECT_SOURCE_DIR}/tests/catch_main.cpp)
target_link_libraries(vitals_catch_main PUBLIC Catch2::Catch2)
# Catch2's implementation is the heaviest single file of every build (48 s under asan on 2
# cores): it is the test runner, not code under test, so it is built without optimisation, debug
# information or sanitizer instrumentation (19 s). The tests themselves keep all three.
set_source_files_properties(${PROJECT_SOURCE_DIR}/tests/catch_main.cpp
  PROPERTIES COMPILE_OPTIONS "-O0;-g0;-fno-sanitize=all")

# Catch2's single header is 1-2 s of every test file's compile time: it is precompiled once for
# the whole build and every suite reuses that precompiled header.
add_library(vitals_catch_pch OBJECT ${PROJECT_SOURCE_DIR}/tests/catch_pch.cpp)
target_link_libraries(vitals_catch_pch PRIVATE Catch2::Catch2 vitals::warnings)
target_precompile_headers(vitals_catch_pch PRIVATE <catch2/catch.hpp>)

# vitals_add_tests(NAME <suite> SOURCES ... LIBS ...): one executable per suite, each TEST_CASE
# a ctest entry named "<suite>: <test case>", labelled with the suite.
#
# VITALS_TEST_SUITES, when set, names the suites to build; the others are left out (the tsan
# preset builds only the suites whose code runs threads: a decoder test under ThreadSanitizer
# checks nothing that the asan build does not).
set(VITALS_TEST_SUITES "" CACHE STRING "Test suites to build (empty: all)")
function(vitals_add_tests)
  cmake_parse_arguments(arg "" "NAME" "SOURCES;LIBS" ${ARGN})
  if(VITALS_TEST_SUITES AND NOT arg_NAME IN_LIST VITALS_TEST_SUITES)
    return()
  endif()
  add_executable(${arg_NAME}_tests ${arg_SOURCES})
  target_link_libraries(${arg_NAME}_tests PRIVATE vitals_catch_main ${arg_LIBS} vitals::warnings)
  target_precompile_headers(${arg_NAME}_tests REUSE_FROM vitals_catch_pch)
  # --warn NoTests: an entry whose name no longer selects its test case (CMake splits names at
  # ';') fails instead of passing with "No tests ran".
  catch_discover_tests(${arg_NAME}_tests TEST_PREFIX "${arg_NAME}: " EXTRA_ARGS --warn NoTests
    PROPERTIES LABELS ${arg_NAME})
endfunction()
