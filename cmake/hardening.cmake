# Hardening builds (issue: sanitizers and fuzzing). Included before any target.
#
# PROXYSIM_SANITIZE: a -fsanitize list (e.g. "address,undefined") applied to every
#   compile and link, with recovery off so the first report fails the test.
# PROXYSIM_WERROR: warnings in the project's own code are errors.
# PROXYSIM_FUZZ: builds the libFuzzer targets in tests/fuzz (clang only); the project's
#   code is instrumented for coverage with -fsanitize=fuzzer-no-link.
set(PROXYSIM_SANITIZE "" CACHE STRING "Sanitizers for every target, e.g. address,undefined")
option(PROXYSIM_WERROR "Treat warnings in proxysim's own code as errors" OFF)
option(PROXYSIM_FUZZ "Build the libFuzzer targets (needs clang)" OFF)
set(PROXYSIM_FUZZ_SECONDS 60 CACHE STRING "Time budget of each fuzz target under ctest")
set(PROXYSIM_FUZZ_SEED 1 CACHE STRING "libFuzzer's -seed under ctest (fixed: CI's runs repeat; 0 = random)")

if(PROXYSIM_SANITIZE)
  add_compile_options($<$<COMPILE_LANGUAGE:CXX>:-fsanitize=${PROXYSIM_SANITIZE}>
                      $<$<COMPILE_LANGUAGE:CXX>:-fno-sanitize-recover=all>
                      $<$<COMPILE_LANGUAGE:CXX>:-fno-omit-frame-pointer>)
  # The sanitizers' checks on every load keep clang from vectorising the `omp simd`
  # loops of the rank kernels; that is what instrumentation costs, not a code defect.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    add_compile_options($<$<COMPILE_LANGUAGE:CXX>:-Wno-pass-failed>
                        $<$<COMPILE_LANGUAGE:CXX>:-fsanitize-ignorelist=${CMAKE_SOURCE_DIR}/cmake/sanitize-ignorelist.txt>)
  endif()
  add_link_options(-fsanitize=${PROXYSIM_SANITIZE})
endif()

if(PROXYSIM_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "PROXYSIM_FUZZ needs clang (libFuzzer): configure with the 'sanitize' preset")
  endif()
  add_compile_options($<$<COMPILE_LANGUAGE:CXX>:-fsanitize=fuzzer-no-link>)
endif()

if(PROXYSIM_WERROR)
  list(APPEND PROXYSIM_WARNINGS -Werror)
endif()
