# CTest cases for what a new user reads first: help text, `mixlab list NAME`,
# `mixlab info RUN_DIR`, counts in words. Included after cli_train_tests.cmake
# (it uses that file's tiny run).

# Defaults print in their shortest form, the [task] section once.
mixlab_cli_test(train_help_short_numbers ARGS train|--help
  STDOUT "--train.weight_decay arg \\(=0.1\\).*--train.target_accuracy arg \\(=0.99\\)"
  REJECT "00000000|99999999")
mixlab_cli_test(train_help_one_task_section ARGS train|--help STDOUT "\\[task\\] mqar: .*--task.name.*--task.vocab_size"
  REJECT "\\[task\\].*\\[task\\]")
# `mixlab list NAME ...`: only those; an unknown name is one line naming the known ones.
mixlab_cli_test(list_one_mixer ARGS list|mamba2 STDOUT "^mamba2: [^\n]*\n.*--mamba2.d_state" REJECT "mha\\.|Tasks|task\\.")
mixlab_cli_test(list_mixer_and_task ARGS list|performer|mqar STDOUT "^performer: .*--performer.feature_eps.*\\[task\\] mqar")
mixlab_cli_test(list_unknown ARGS list|mamba3 EXIT 2
  STDERR "^mixlab: list: unknown mixer, preset or task 'mamba3' \\(known: mha, [^\n]*mamba2[^\n]*mqar[^\n]*\\)\n$")
# `mixlab info RUN_DIR` reads the run's config.ini, as eval and generate do.
mixlab_cli_test(info_run_dir ARGS info|${cli_runs}/tiny STDOUT "tiny/config.ini: d_model 16.*parameters: ")
set_tests_properties(cli.info_run_dir PROPERTIES FIXTURES_REQUIRED tiny_run)
mixlab_cli_test(info_not_a_run_dir ARGS info|${PROJECT_SOURCE_DIR}/docs EXIT 2
  STDERR "^mixlab: info: [^\n]*docs is not a run directory \\(no config.ini\\)\n$")
# One thread is "1 thread".
mixlab_cli_test(bench_one_thread ARGS bench|mixers|--mixers|shortconv|--lengths|8|--d-model|16|--threads|1
  STDOUT "F32, 1 thread\n")
