#!/usr/bin/env bash
# Verifies mixlab's CUDA code on a machine with an NVIDIA GPU, in one command
# (docs/cuda.md): builds with CUDA for the GPU present into build-cuda/, runs
# every [cuda] test with the not-yet-verified kernel families enabled, and
# writes a report to gpu-check-report.md ($OUT/gpu-check-report.md when $OUT
# is set). Exits 0 only when a GPU was visible and every [cuda] test ran and
# passed: then the families the report lists may be added to
# autograd/cuda_verification.cpp, with the report's numbers in docs/cuda.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
report="${OUT:-.}/gpu-check-report.md"
log="${OUT:-/tmp}/gpu-check-tests.log"
start=$(date +%s)

if ! gpu=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null); then
  echo "gpu-check: no NVIDIA GPU here (nvidia-smi failed); nothing verified" >&2
  exit 2
fi
echo "gpu-check: $gpu"

# One architecture, the GPU's own: a build of minutes, not of every target.
cmake -S . -B build-cuda -DCMAKE_BUILD_TYPE=Release -DMIXLAB_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=native \
  > "${OUT:-/tmp}/gpu-check-configure.log" 2>&1 || {
  echo "gpu-check: configuring failed (missing packages? see ${OUT:-/tmp}/gpu-check-configure.log and docs/cuda.md)" >&2
  tail -n 20 "${OUT:-/tmp}/gpu-check-configure.log" >&2
  exit 1
}
cmake --build build-cuda -j"$(nproc)" --target mixlab_tests mixlab > "${OUT:-/tmp}/gpu-check-build.log" 2>&1 || {
  echo "gpu-check: the build failed (see ${OUT:-/tmp}/gpu-check-build.log)" >&2
  tail -n 30 "${OUT:-/tmp}/gpu-check-build.log" >&2
  exit 1
}
built=$(date +%s)

status=0
MIXLAB_CUDA_UNVERIFIED=1 build-cuda/mixlab_tests "[cuda]" --success --reporter compact > "$log" 2>&1 || status=$?
if grep -q "skipped: no CUDA device" "$log"; then
  echo "gpu-check: the tests saw no CUDA device although nvidia-smi did (driver/runtime mismatch?)" >&2
  status=1
fi
summary=$(grep -E "^(Passed|Failed|All tests passed|test cases)" "$log" | tail -n 1 || true)
tested=$(date +%s)

{
  echo "# gpu-check report"
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "- GPU: $gpu"
  echo "- nvcc: $(nvcc --version 2>/dev/null | tail -n 1 || echo unknown)"
  echo "- build: $((built - start)) s; [cuda] tests: $((tested - built)) s"
  echo "- result: $([ $status -eq 0 ] && echo PASSED || echo FAILED) — ${summary:-no summary line}"
  echo "- families exercised: copies, gemm, elementwise, reduce, nn, movement, scan, optim (tests/kernels/test_cuda.cpp)"
  echo
  echo '```'
  grep -E "failed|FAILED|passed|skipped" "$log" | tail -n 40
  echo '```'
} > "$report"
cat "$report"
exit $status
