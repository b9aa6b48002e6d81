#!/usr/bin/env bash
# Builds mixlab (scripts/setup.sh) and runs every test; exits non-zero when
# the build fails, any test fails, or no test is found. Then the sanitizer
# stage (scripts/sanitize.sh: an ASan + UBSan build and a subset of the
# suite on it), chosen by MIXLAB_SANITIZE_STAGE:
#   auto (default): only when the main build is CPU-only. CI tests both the
#     default (CUDA) and the CPU-only configuration; the instrumented build is
#     CPU-only either way, so it runs once, with the CPU-only one, instead of
#     doubling the CUDA job's time.
#   on: always.  off: never.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
stage="${MIXLAB_SANITIZE_STAGE:-auto}"
case "$stage" in
  auto | on | off) ;;
  *) echo "test.sh: MIXLAB_SANITIZE_STAGE='$stage'; allowed: auto, on, off" >&2; exit 2 ;;
esac
build_dir="${MIXLAB_BUILD_DIR:-build}"
scripts/setup.sh
ctest --test-dir "$build_dir" --output-on-failure --no-tests=error -j"$(nproc)"
if [[ "$stage" == auto ]]; then
  if "$build_dir/mixlab" --version | grep -q "cuda: *not built"; then
    stage=on
  else
    echo "test.sh: sanitizer stage skipped (auto: the main build has CUDA; it runs with the CPU-only one, or set MIXLAB_SANITIZE_STAGE=on)"
    stage=off
  fi
fi
if [[ "$stage" == on ]]; then
  MIXLAB_SANITIZE_STAGE=on scripts/sanitize.sh
fi
