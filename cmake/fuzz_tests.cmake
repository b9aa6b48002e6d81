# CTest cases for the fuzzers and process-level robustness checks of the
# `mixlab` executable (tests/scripts/test_fuzz.py): seeded, so a failure
# reproduces; FUZZ_SEED / FUZZ_CONFIGS / FUZZ_CHECKPOINTS in the environment
# of a manual run explore further. Included at the end of CMakeLists.txt.
find_package(Python3 COMPONENTS Interpreter)
if(NOT Python3_Interpreter_FOUND)
  message(WARNING "python3 not found: the fuzz tests are not registered (scripts/setup.sh installs it)")
  return()
endif()

foreach(case
    ConfigFuzz.test_mutated_configs_get_one_clean_line
    SafetensorsFuzz.test_mutated_checkpoints_get_one_clean_line
    SafetensorsFuzz.test_mutated_token_files_get_one_clean_line
    SafetensorsFuzz.test_export_holds_the_checkpoint_weights_under_their_names
    SafetensorsFuzz.test_decoding_the_test_set_gives_the_eval_accuracy
    Processes.test_second_training_of_a_run_is_refused_naming_the_holder
    Processes.test_a_killed_run_resumes_from_step_zero_and_its_lock_is_free)
  string(REGEX REPLACE "\\.test_" "." name ${case})
  add_test(NAME fuzz.${name} COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/tests/scripts/test_fuzz.py -v ${case})
  set_tests_properties(fuzz.${name} PROPERTIES TIMEOUT 300 SKIP_REGULAR_EXPRESSION "skipped '"
    ENVIRONMENT "MIXLAB=$<TARGET_FILE:mixlab>;FUZZ_TEST_DIR=${CMAKE_BINARY_DIR}/fuzz_test_runs/${name};FUZZ_SANITIZED=$<BOOL:${MIXLAB_SANITIZE}>")
endforeach()
