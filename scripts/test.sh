#!/usr/bin/env bash
# Builds mixlab (scripts/setup.sh) and runs every test; exits non-zero when
# the build fails, any test fails, or no test is found.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/setup.sh
ctest --test-dir "${MIXLAB_BUILD_DIR:-build}" --output-on-failure --no-tests=error -j"$(nproc)"
