# Fails when a file under layers/, models/ or train/ includes a kernels/
# header: those folders call ops (autograd/), never kernels (README, "Layout").
# Run as: cmake -DSOURCE_DIR=<checkout> -P check_layering.cmake
file(GLOB_RECURSE sources ${SOURCE_DIR}/layers/* ${SOURCE_DIR}/models/* ${SOURCE_DIR}/train/*)
set(offenders "")
foreach(source IN LISTS sources)
  file(STRINGS ${source} lines REGEX "^[ \t]*#[ \t]*include[ \t]*[\"<]kernels/")
  foreach(line IN LISTS lines)
    file(RELATIVE_PATH relative ${SOURCE_DIR} ${source})
    list(APPEND offenders "${relative}: ${line}")
  endforeach()
endforeach()
if(offenders)
  list(JOIN offenders "\n  " listed)
  message(FATAL_ERROR "kernel headers included above autograd/ (call an op instead):\n  ${listed}")
endif()
