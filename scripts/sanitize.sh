#!/usr/bin/env bash
# The sanitizer stage of scripts/test.sh (README "Development"): a CPU-only build with
# AddressSanitizer + UndefinedBehaviorSanitizer (-DMIXLAB_SANITIZE=ON) in
# build-asan/, then a subset of the suite on it:
#   - every Catch2 case except the slow ones: [e2e] trainings, the mixer
#     [conformance] suite and the shipped-[configs] check (minutes each when
#     instrumented at -O1), and [cuda] (no device);
#   - the fuzzers (fuzz.*: mutated configs, corrupted checkpoints and token
#     files through the instrumented `mixlab`) and the CLI error tests (cli.*).
# Any ASan or UBSan report fails its test (UBSan does not recover, ASan aborts).
# MIXLAB_SANITIZE_STAGE=off skips it; scripts/test.sh decides when it runs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [[ "${MIXLAB_SANITIZE_STAGE:-on}" == off ]]; then
  echo "sanitize: skipped (MIXLAB_SANITIZE_STAGE=off)"
  exit 0
fi
build_dir="${MIXLAB_ASAN_BUILD_DIR:-build-asan}"
# -O1 keeps the instrumented build and its tests quick; -g names the lines of a report.
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
  -DMIXLAB_CUDA=OFF -DMIXLAB_SANITIZE=ON ${MIXLAB_ASAN_CMAKE_ARGS:-}
cmake --build "$build_dir" -j"$(nproc)"
# detect_leaks=0: the FFTW plan cache and OpenBLAS's buffers live until exit by design.
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:${UBSAN_OPTIONS:-}"
"$build_dir/mixlab_tests" "~[e2e]~[conformance]~[configs]~[cuda]"
ctest --test-dir "$build_dir" --output-on-failure --no-tests=error -j"$(nproc)" -R '^(fuzz|cli)\.'
