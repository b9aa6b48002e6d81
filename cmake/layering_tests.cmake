# CTest cases for the dependency direction (README, "Layout": kernels <- autograd
# <- layers <- models <- train). Included at the end of CMakeLists.txt.
add_test(NAME layering.no_kernel_headers_above_autograd
         COMMAND ${CMAKE_COMMAND} -DSOURCE_DIR=${PROJECT_SOURCE_DIR} -P ${CMAKE_CURRENT_LIST_DIR}/check_layering.cmake)
