# Runs one command and checks its exit code and output; a CTest helper (see
# cmake/cli_tests.cmake), because CTest alone checks either the exit code or a
# regular expression, never both.
#   cmake -DCOMMAND=<exe> [-DARGS=a|b|c] [-DEXPECT_EXIT=0]
#         [-DEXPECT_STDOUT=<regex>] [-DEXPECT_STDERR=<regex>] [-DREJECT_OUTPUT=<regex>]
#         -P expect_command.cmake
# ARGS separates arguments with '|' (a ';' would be split by add_test).
if(NOT DEFINED EXPECT_EXIT)
  set(EXPECT_EXIT 0)
endif()
string(REPLACE "|" ";" arg_list "${ARGS}")
execute_process(COMMAND "${COMMAND}" ${arg_list}
                RESULT_VARIABLE exit_code OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("---- stdout\n${out}---- stderr\n${err}---- exit code ${exit_code}")
if(NOT exit_code STREQUAL "${EXPECT_EXIT}")
  message(FATAL_ERROR "expected exit code ${EXPECT_EXIT}, got ${exit_code}")
endif()
if(DEFINED EXPECT_STDOUT AND NOT out MATCHES "${EXPECT_STDOUT}")
  message(FATAL_ERROR "stdout does not match: ${EXPECT_STDOUT}")
endif()
if(DEFINED EXPECT_STDERR AND NOT err MATCHES "${EXPECT_STDERR}")
  message(FATAL_ERROR "stderr does not match: ${EXPECT_STDERR}")
endif()
if(DEFINED REJECT_OUTPUT AND "${out}${err}" MATCHES "${REJECT_OUTPUT}")
  message(FATAL_ERROR "output matches what it must not: ${REJECT_OUTPUT}")
endif()
