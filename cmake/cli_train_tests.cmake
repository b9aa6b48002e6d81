# CTest cases for the training subcommands (train, eval, forward, plot, list):
# a seconds-long run of tests/data/tiny_mqar.ini end to end through the real
# executable, and one clear line for each class of bad input.
set(cli_runs ${CMAKE_BINARY_DIR}/cli_test_runs)
set(tiny ${PROJECT_SOURCE_DIR}/tests/data/tiny_mqar.ini)
string(REPEAT "x" 4096 long_value)

mixlab_cli_test(list ARGS list STDOUT "mha: .*--mha.n_heads.*shortconv: .*task.vocab_size")
mixlab_cli_test(train_help ARGS train|--help STDOUT "usage: mixlab train.*--model.d_model arg \\(=64\\)")
mixlab_cli_test(train_no_config ARGS train EXIT 2 STDERR "^mixlab: train: no config given")
mixlab_cli_test(train_missing_file ARGS train|nope.ini EXIT 2 STDERR "${one_error_line}")
mixlab_cli_test(train_unknown_key ARGS train|${tiny}|--model.frobnicate=1 EXIT 2
  STDERR "^mixlab: train: .*model.frobnicate[^\n]*\n$")
mixlab_cli_test(train_bad_value ARGS train|${tiny}|--model.d_model=abc EXIT 2 STDERR "model.d_model")
mixlab_cli_test(train_heads_not_dividing ARGS train|${tiny}|--mha.n_heads=3 EXIT 2
  STDERR "^mixlab: train: mha.n_heads: d_model 16 is not divisible by 3 heads\n$")
mixlab_cli_test(train_kv_do_not_fit ARGS train|${tiny}|--task.train_segments=16:8:100 EXIT 2
  STDERR "task.train_segments: 16:8:100")
mixlab_cli_test(train_vocab_too_small ARGS train|${tiny}|--task.vocab_size=10 EXIT 2 STDERR "vocab")
mixlab_cli_test(train_unknown_mixer ARGS train|${tiny}|--model.pattern=mha,nope EXIT 2
  STDERR "model.pattern: unknown mixer 'nope' .allowed: mha, shortconv")
# --check: validates the config and overrides and prints one line (scripts/sweep
# relies on it; tests/scripts/test_sweep.py checks that it writes nothing).
mixlab_cli_test(train_check ARGS train|${tiny}|--check|--train.out_dir=${cli_runs}/check
  STDOUT "^check: [^\n]*/check/tiny: ok: mqar[^\n]*, [0-9]+ parameters, 40 steps\n$")
mixlab_cli_test(train_check_bad_key ARGS train|${tiny}|--check|--model.frobnicate=1 EXIT 2
  STDERR "^mixlab: train: .*model.frobnicate[^\n]*\n$")
mixlab_cli_test(train_check_bad_value ARGS train|${tiny}|--mha.n_heads=3|--check EXIT 2 STDERR "mha.n_heads")
mixlab_cli_test(train_stop_at_bad ARGS train|${tiny}|--stop-at|-1 EXIT 2
  STDERR "^mixlab: train: --stop-at '-1' is not a step count .allowed: an integer >= 0.\n$")
mixlab_cli_test(eval_missing_run ARGS eval|${cli_runs}/nope EXIT 1 STDERR "does not exist")
mixlab_cli_test(forward_missing_args ARGS forward|${cli_runs}/tiny EXIT 2 STDERR "missing --tokens")
mixlab_cli_test(plot_not_a_run ARGS plot|${PROJECT_SOURCE_DIR}/docs|-o|${cli_runs}/x.png EXIT 1
  STDERR "docs is not a run directory and holds none")

# The end-to-end chain: clean, train, then eval/forward/plot the run.
add_test(NAME cli.tiny_clean COMMAND ${CMAKE_COMMAND} -E rm -rf ${cli_runs}/tiny)
set_tests_properties(cli.tiny_clean PROPERTIES FIXTURES_SETUP tiny_clean)
mixlab_cli_test(tiny_train ARGS train|${tiny}|--train.out_dir=${cli_runs}
  STDOUT "step 40 \\| train loss [0-9.]+ \\| test loss [0-9.]+ \\| test acc .*40/40 steps")
set_tests_properties(cli.tiny_train PROPERTIES FIXTURES_REQUIRED tiny_clean FIXTURES_SETUP tiny_run)
mixlab_cli_test(tiny_train_again ARGS train|${tiny}|--train.out_dir=${cli_runs} EXIT 1
  STDERR "already exists: use --resume")
mixlab_cli_test(tiny_eval ARGS eval|${cli_runs}/tiny STDOUT "at step 40: test loss [0-9.]+, test accuracy [0-9.]+")
mixlab_cli_test(tiny_forward ARGS forward|${cli_runs}/tiny|--tokens|${PROJECT_SOURCE_DIR}/tests/data/tokens_2x8.safetensors|--out|${cli_runs}/logits.safetensors
  STDOUT "wrote logits \\(2,8,64\\)")
mixlab_cli_test(tiny_forward_bad_tokens ARGS forward|${cli_runs}/tiny|--tokens|${PROJECT_SOURCE_DIR}/tests/data/reference.safetensors|--out|${cli_runs}/x.safetensors
  EXIT 2 STDERR "exactly one tensor")
mixlab_cli_test(tiny_plot ARGS plot|${cli_runs}/tiny|-o|${cli_runs}/tiny.png STDOUT "wrote .*tiny.png")
mixlab_cli_test(tiny_generate ARGS generate|${cli_runs}/tiny|--prompt-tokens|3,40,5,41,3|--max-new-tokens|4|--temperature|0.8|--top-k|5
  STDOUT "prompt: 3,40,5,41,3\ngenerated: [0-9]+,[0-9]+,[0-9]+,[0-9]+\n")
mixlab_cli_test(tiny_generate_bad_token ARGS generate|${cli_runs}/tiny|--prompt-tokens|3,64 EXIT 2
  STDERR "token id 64 is outside the model's vocabulary \\[0, 64\\)")
mixlab_cli_test(tiny_plot_accuracy ARGS plot|${cli_runs}|--figure|accuracy|-o|${cli_runs}/accuracy.png
  STDOUT "wrote .*accuracy.png")
mixlab_cli_test(tiny_plot_state ARGS plot|${cli_runs}/tiny|--figure|state|--context|4096|-o|${cli_runs}/state.png
  STDOUT "wrote .*state.png")
mixlab_cli_test(tiny_plot_color_by ARGS plot|${cli_runs}/tiny|--color-by|model.pattern|-o|${cli_runs}/by.png
  STDOUT "wrote .*by.png")
mixlab_cli_test(tiny_plot_bad_key ARGS plot|${cli_runs}/tiny|--figure|accuracy|--x|model.d_modle|-o|${cli_runs}/bad.png
  EXIT 1 STDERR "has no setting 'model.d_modle'")
mixlab_cli_test(plot_bad_figure ARGS plot|${cli_runs}/tiny|--figure|pie|-o|${cli_runs}/pie.png EXIT 2
  STDERR "--figure 'pie' is not one of: curves, accuracy, state")
# A trained checkpoint on other [task] settings (train/run_loader.h): the tiny
# model has no learned positions, so it takes twice its length.
mixlab_cli_test(tiny_eval_longer ARGS eval|${cli_runs}/tiny|--task.test_segments|32:2:16
  STDOUT "at step 40 on mqar[^\n]*: test loss [0-9.]+, test accuracy [0-9.]+\n  L 32, size 2 \\(16 examples\\)")
mixlab_cli_test(tiny_eval_other_vocab ARGS eval|${cli_runs}/tiny|--task.vocab_size=128 EXIT 2
  STDERR "^mixlab: eval: task.vocab_size = 128 differs from the model's vocabulary of 64 tokens\n$")
mixlab_cli_test(tiny_eval_model_key ARGS eval|${cli_runs}/tiny|--model.d_model=8 EXIT 2 STDERR "${one_error_line}")
mixlab_cli_test(tiny_generate_from_task ARGS generate|${cli_runs}/tiny|--from-task|3
  STDOUT "^example 0 \\(L 16\\): [0-9]/[0-9] right: [0-9]+ -> [0-9]+.*example 2 .*\naccuracy [0-9.]+ over 3 examples")
mixlab_cli_test(tiny_train_dir_without_resume ARGS train|${cli_runs}/tiny EXIT 2
  STDERR "is a directory: continue a run directory with --resume")
# A blank model.pattern (once a SIGFPE) is one line naming the key.
file(READ ${tiny} tiny_text)
string(REGEX REPLACE "\npattern = [^\n]*" "\npattern =" blank_text "${tiny_text}")
file(WRITE ${CMAKE_BINARY_DIR}/blank_pattern.ini "${blank_text}")
mixlab_cli_test(train_blank_pattern ARGS train|${CMAKE_BINARY_DIR}/blank_pattern.ini|--check EXIT 2
  STDERR "^mixlab: train: model.pattern [^\n]*empty[^\n]*\n$")
# A megabyte-long value is cut in the error line.
mixlab_cli_test(train_long_value ARGS train|${tiny}|--check|--train.schedule=${long_value} EXIT 2
  STDERR "^mixlab: train: train.schedule = 'x+\\.\\.\\. \\(4098 bytes\\) is not allowed[^\n]*\n$")
set_tests_properties(cli.tiny_eval_longer cli.tiny_eval_other_vocab cli.tiny_eval_model_key cli.tiny_generate_from_task
  cli.tiny_train_dir_without_resume PROPERTIES FIXTURES_REQUIRED tiny_run)
set_tests_properties(cli.tiny_train_again cli.tiny_eval cli.tiny_forward cli.tiny_forward_bad_tokens cli.tiny_plot
  cli.tiny_plot_accuracy cli.tiny_plot_state cli.tiny_plot_color_by cli.tiny_plot_bad_key
  cli.tiny_generate cli.tiny_generate_bad_token PROPERTIES FIXTURES_REQUIRED tiny_run)
mixlab_cli_test(generate_missing_prompt ARGS generate|${cli_runs}/tiny EXIT 2 STDERR "missing --prompt-tokens")
mixlab_cli_test(generate_bad_temperature ARGS generate|${cli_runs}/tiny|--prompt-tokens|1|--temperature|-1 EXIT 2
  STDERR "--temperature must be a finite number >= 0")
# A non-causal mixer on a causal task is refused before anything is written.
mixlab_cli_test(train_linformer_on_mqar ARGS train|${PROJECT_SOURCE_DIR}/experiments/mqar/quick.ini|--model.pattern|shortconv,linformer|--train.out_dir=${cli_runs}
  EXIT 2 STDERR "mixer 'linformer' is not causal, but task 'mqar' is causal")
