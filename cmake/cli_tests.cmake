# CTest cases for the `mixlab` executable: what it prints, its exit codes, and
# that bad command lines fail with one line on stderr before any work starts.
# Included at the end of CMakeLists.txt.

# mixlab_cli_test(<name> ARGS a|b|c [EXIT n] [STDOUT regex] [STDERR regex] [REJECT regex])
function(mixlab_cli_test name)
  cmake_parse_arguments(T "" "ARGS;EXIT;STDOUT;STDERR;REJECT" "" ${ARGN})
  set(defs -DCOMMAND=$<TARGET_FILE:mixlab> "-DARGS=${T_ARGS}")
  if(DEFINED T_EXIT)
    list(APPEND defs -DEXPECT_EXIT=${T_EXIT})
  endif()
  if(DEFINED T_STDOUT)
    list(APPEND defs "-DEXPECT_STDOUT=${T_STDOUT}")
  endif()
  if(DEFINED T_STDERR)
    list(APPEND defs "-DEXPECT_STDERR=${T_STDERR}")
  endif()
  if(DEFINED T_REJECT)
    list(APPEND defs "-DREJECT_OUTPUT=${T_REJECT}")
  endif()
  add_test(NAME cli.${name} COMMAND ${CMAKE_COMMAND} ${defs} -P ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/expect_command.cmake)
endfunction()

# A usage error is exactly one line on stderr, starting "mixlab: ".
set(one_error_line "^mixlab: [^\n]+\n$")

mixlab_cli_test(version ARGS --version
  STDOUT "^mixlab ${PROJECT_VERSION}\n.*cuda: .*gemm: .*openmp: +[0-9]+ max threads?")
mixlab_cli_test(help ARGS --help STDOUT "usage: mixlab .*subcommands:\n  bench +[a-z]")
mixlab_cli_test(bad_subcommand ARGS frobnicate EXIT 2 STDERR "${one_error_line}")
mixlab_cli_test(bad_subcommand_message ARGS frobnicate EXIT 2
  STDERR "unknown subcommand 'frobnicate' .allowed: [a-z, ]*bench")
mixlab_cli_test(no_subcommand ARGS "" EXIT 2 STDERR "^mixlab: missing subcommand")
mixlab_cli_test(bad_global_option ARGS --frobnicate EXIT 2 STDERR "--frobnicate.*allowed options: --help, --version")
mixlab_cli_test(bench_unknown ARGS bench|frobnicate EXIT 2 STDERR "unknown benchmark 'frobnicate' .allowed: [a-z, ]*gemm")
mixlab_cli_test(bench_gemm_bad_option ARGS bench|gemm|--frobnicate EXIT 2 STDERR "${one_error_line}")
mixlab_cli_test(bench_gemm_bad_threads ARGS bench|gemm|--threads|0 EXIT 2
  STDERR "--threads 0 is out of range .allowed: 1 to [0-9]+")
mixlab_cli_test(bench_gemm_bad_backend ARGS bench|gemm|--backend|mkl EXIT 2
  STDERR "--backend 'mkl' is not one of: openblas, eigen, both")
mixlab_cli_test(bench_gemm_extra_argument ARGS bench|gemm|extra EXIT 2 STDERR "unexpected argument 'extra'")
mixlab_cli_test(bench_gemm_help ARGS bench|gemm|--help STDOUT "--threads.*--repeat.*--backend.*--quick")
# The smoke run: every shape on every built backend, the backends agreeing, and
# the verdict line. It asserts no time (benchmarks are not tests).
mixlab_cli_test(bench_gemm_quick ARGS bench|gemm|--quick
  STDOUT "peak: [0-9.]+ GFLOP/s.*check: .* agree.*squares >= 512 on [0-9]+ threads?: [a-z]+ "
  REJECT "MISMATCH| -?nan| -?inf")
set_tests_properties(cli.bench_gemm_quick PROPERTIES TIMEOUT 120)

# bench decode: a tiny smoke run of every setup (prefill in pieces, steps,
# state accounting printed) and its input errors.
mixlab_cli_test(bench_decode_smoke ARGS bench|decode|--contexts|5,40|--d-model|64|--steps|2
  STDOUT "mha +40 \\|.*swa +40 \\|.*shortconv +40 \\|" REJECT " -?nan| -?inf")
mixlab_cli_test(bench_decode_bad_mixer ARGS bench|decode|--mixers|mha,nope EXIT 2
  STDERR "unknown mixer setup 'nope' .allowed: mha, gqa")
mixlab_cli_test(bench_decode_bad_contexts ARGS bench|decode|--contexts|1k EXIT 2
  STDERR "--contexts needs positive integers")
mixlab_cli_test(bench_mixers_smoke ARGS bench|mixers|--lengths|8,24|--d-model|64|--batch|2
  STDOUT "mha .*reference.*linear_attn .*retnet .*shortconv " REJECT " -?nan| -?inf")
mixlab_cli_test(bench_mixers_bad_lengths ARGS bench|mixers|--lengths|0 EXIT 2
  STDERR "--lengths needs positive integers")

# mixlab info: the per-layer table of a hybrid and its input errors.
mixlab_cli_test(info_quick ARGS info|${PROJECT_SOURCE_DIR}/experiments/mqar/quick.ini|--contexts|1024,32768
  STDOUT "state@1k +state@32k.*0 +shortconv .*512 B +512 B.*1 +mha .*512.0 KiB +16.00 MiB.*parameters: .*FLOPs per token at length 64")
mixlab_cli_test(info_bad_key ARGS info|${PROJECT_SOURCE_DIR}/experiments/mqar/quick.ini|--model.d_modle|3 EXIT 2
  STDERR "d_modle")
mixlab_cli_test(info_bad_contexts ARGS info|${PROJECT_SOURCE_DIR}/experiments/mqar/quick.ini|--contexts|x EXIT 2
  STDERR "--contexts needs positive integers")
mixlab_cli_test(bench_decode_models ARGS bench|decode|--config|${PROJECT_SOURCE_DIR}/experiments/mqar/quick.ini|--contexts|16,48|--steps|4
  STDOUT "quick.ini +0.55M +48 \\|" REJECT " -?nan| -?inf")
mixlab_cli_test(bench_decode_models_too_long ARGS bench|decode|--config|${PROJECT_SOURCE_DIR}/experiments/mqar/quick.ini|--contexts|1024 EXIT 2
  STDERR "64 learned positions, fewer than context")
# --device is checked before any work: an unknown name, or a GPU not visible here.
mixlab_cli_test(eval_bad_device ARGS eval|no_such_run|--device|gpu EXIT 2
  STDERR "^mixlab: eval: --device = 'gpu' is not a device .allowed: cpu, cuda, cuda:N.\n$")
mixlab_cli_test(generate_bad_device ARGS generate|no_such_run|--prompt-tokens|1|--device|cuda:x EXIT 2
  STDERR "generate: --device = 'cuda:x' is not a device")
mixlab_cli_test(bench_attention_tf32_on_cpu ARGS bench|attention|--tf32 EXIT 2 STDERR "--tf32 needs --device cuda")
mixlab_cli_test(bench_train_bad_device ARGS bench|train|${PROJECT_SOURCE_DIR}/experiments/mqar/quick.ini|--device|tpu
  EXIT 2 STDERR "train.device = 'tpu' is not a device")
mixlab_cli_test(train_bf16_attention_on_cpu ARGS train|${PROJECT_SOURCE_DIR}/experiments/mqar/quick.ini|--mha.kernel=fused_bf16
  EXIT 2 STDERR "mha.kernel = fused_bf16 needs train.device = cuda")
mixlab_cli_test(bench_attention_bf16_on_cpu ARGS bench|attention|--bf16 EXIT 2 STDERR "--bf16 needs --device cuda")
mixlab_cli_test(train_bad_device ARGS train|${PROJECT_SOURCE_DIR}/experiments/mqar/quick.ini|--device|gpu0 EXIT 2
  STDERR "^mixlab: train: train.device = 'gpu0' is not a device .allowed: cpu, cuda, cuda:N.\n$")
