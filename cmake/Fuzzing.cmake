# wps_add_fuzzer(name SOURCES ... LIBS ...): a libFuzzer target plus a short ctest smoke run
# over its seed corpus (fuzz/corpus/<name>).
function(wps_add_fuzzer name)
  cmake_parse_arguments(F "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${F_SOURCES})
  target_link_libraries(${name} PRIVATE ${F_LIBS} wps_warnings)
  target_compile_options(${name} PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_options(${name} PRIVATE -fsanitize=fuzzer,address,undefined)
  # New inputs go to a scratch corpus in the build tree; the committed seeds are only read.
  set(seeds ${CMAKE_CURRENT_SOURCE_DIR}/corpus/${name})
  set(scratch ${CMAKE_CURRENT_BINARY_DIR}/corpus/${name})
  file(MAKE_DIRECTORY ${scratch})
  add_test(NAME fuzz.${name}
    COMMAND ${name} -max_total_time=10 -rss_limit_mb=2048 ${scratch} ${seeds})
endfunction()
