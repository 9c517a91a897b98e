# The warning set every project target builds with; warnings are errors.
add_library(wps_warnings INTERFACE)
target_compile_options(wps_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
  -Wunused -Woverloaded-virtual -Wconversion -Wsign-conversion
  -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough -Werror)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  target_compile_options(wps_warnings INTERFACE -Wmisleading-indentation -Wduplicated-cond
    -Wlogical-op)
endif()
