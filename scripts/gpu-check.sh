#!/usr/bin/env bash
# Verifies mixlab's CUDA code on a machine with an NVIDIA GPU, in one command
# (docs/cuda.md), meant to fit 8 minutes on one H100 (not yet timed on one):
#   1. the binaries: from .gpu-bundle/ when present (built elsewhere by
#      scripts/gpu-bundle.sh, for machines without mixlab's Debian packages),
#      else built here into build-cuda/ for the GPU present;
#   2. every [cuda] test, with the not-yet-verified kernel families enabled;
#   3. the GPU benchmarks: fused (FP32 and BF16) vs cuBLAS-based attention, and
#      training tokens/s of the quick MQAR config and of a larger one
#      (d_model 512, T 1024) on the GPU and on this machine's CPU.
# Each step has a time limit (at most 490 s together; a benchmark cut short
# keeps the rows it printed). Writes gpu-check-report.md
# ($OUT/gpu-check-report.md when $OUT is set) and
# the full logs beside it. Exits 0 only when a GPU was visible and every
# [cuda] test ran and passed: then the families the report lists may be added
# to autograd/cuda_verification.cpp, with the report's numbers in docs/cuda.md.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out="${OUT:-/tmp}"
report="${OUT:-.}/gpu-check-report.md"
start=$(date +%s)

if ! gpu=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null); then
  echo "gpu-check: no NVIDIA GPU here (nvidia-smi failed); nothing verified" >&2
  exit 2
fi
echo "gpu-check: $gpu"

# ---- 1. the binaries -----------------------------------------------------------
if [[ -f .gpu-bundle/mixlab-gpu.tar.gz ]]; then
  bundle=/tmp/mixlab-gpu
  rm -rf "$bundle" && mkdir -p "$bundle/use" && tar -C "$bundle" -xzf .gpu-bundle/mixlab-gpu.tar.gz
  bin="$bundle/bin"
  origin="bundle: $(head -n 2 .gpu-bundle/MANIFEST | tr '\n' ';')"
  if [[ "$(head -n 1 .gpu-bundle/MANIFEST)" != "commit: $(git rev-parse HEAD 2>/dev/null)" ]]; then
    echo "gpu-check: warning: the bundle was not built from this checkout's commit ($origin)" >&2
  fi
  # Use a carried library only where this machine lacks one; look for CUDA's
  # own in the toolkit and in the Python packages that ship them.
  cuda_dirs=$(ls -d /usr/local/cuda/lib64 /usr/local/cuda/targets/*/lib 2>/dev/null
              python3 -c 'import nvidia, os; [print(os.path.join(p, d, "lib")) for p in nvidia.__path__ for d in os.listdir(p)]' 2>/dev/null)
  export LD_LIBRARY_PATH="$bundle/use${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  for name in $(ldd "$bin/mixlab_tests" "$bin/mixlab" | awk '/not found/ {print $1}' | sort -u); do
    if [[ -f "$bundle/lib/$name" ]]; then
      ln -sf "$bundle/lib/$name" "$bundle/use/$name"
    else
      for dir in $cuda_dirs; do
        if [[ -f "$dir/$name" ]]; then LD_LIBRARY_PATH="$LD_LIBRARY_PATH:$dir"; break; fi
      done
    fi
  done
  if missing=$(ldd "$bin/mixlab_tests" "$bin/mixlab" | grep "not found"); then
    echo "gpu-check: libraries the bundle needs are missing here:" >&2
    echo "$missing" >&2
    exit 1
  fi
else
  origin="built here (build-cuda, CMAKE_CUDA_ARCHITECTURES=native)"
  cmake -S . -B build-cuda -DCMAKE_BUILD_TYPE=Release -DMIXLAB_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=native \
    > "$out/gpu-check-configure.log" 2>&1 || {
    echo "gpu-check: configuring failed (missing packages? build a bundle elsewhere with scripts/gpu-bundle.sh;" \
      "see $out/gpu-check-configure.log and docs/cuda.md)" >&2
    tail -n 20 "$out/gpu-check-configure.log" >&2
    exit 1
  }
  cmake --build build-cuda -j"$(nproc)" --target mixlab_tests mixlab > "$out/gpu-check-build.log" 2>&1 || {
    echo "gpu-check: the build failed (see $out/gpu-check-build.log)" >&2
    tail -n 30 "$out/gpu-check-build.log" >&2
    exit 1
  }
  bin=build-cuda
fi
built=$(date +%s)

# ---- 2. the [cuda] tests ---------------------------------------------------------
log="$out/gpu-check-tests.log"
status=0
MIXLAB_CUDA_UNVERIFIED=1 timeout 200 "$bin/mixlab_tests" "[cuda]" --reporter compact > "$log" 2>&1 || status=$?
if grep -q "skipped: no CUDA device" "$log"; then
  echo "gpu-check: the tests saw no CUDA device although nvidia-smi did (driver/runtime mismatch?)" >&2
  status=1
fi
summary=$(grep -E "^(Passed|Failed|All tests passed|test cases)" "$log" | tail -n 1 || true)
tested=$(date +%s)

# ---- 3. the benchmarks ---------------------------------------------------------------
bench="$out/gpu-check-bench.log"
: > "$bench"
run_bench() {  # a title, a time limit in seconds, the mixlab arguments
  local title=$1 limit=$2
  shift 2
  echo "### $title" >> "$bench"
  echo '```' >> "$bench"
  MIXLAB_CUDA_UNVERIFIED=1 timeout "$limit" "$bin/mixlab" "$@" >> "$bench" 2>&1 || echo "(exit $?)" >> "$bench"
  echo '```' >> "$bench"
}
run_bench "fused vs plain attention, FP32 (mixlab bench attention --device cuda)" 90 bench attention --device cuda
run_bench "fused BF16 on tensor cores vs plain FP32 (--bf16)" 70 bench attention --device cuda --bf16
for config in experiments/mqar/quick.ini experiments/bench/mqar_l1024_d512.ini; do
  run_bench "training, GPU: $config" 20 bench train "$config" --device cuda --steps 30
  run_bench "training, GPU with TF32: $config" 20 bench train "$config" --device cuda --steps 30 --train.tf32=true
  run_bench "training, CPU ($(nproc) threads): $config" 25 bench train "$config" --steps 5 --warmup 1 --train.threads=0
done
benched=$(date +%s)

{
  echo "# gpu-check report"
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "- GPU: $gpu; CPU: $(nproc) cores"
  echo "- binaries: $origin"
  echo "- nvcc: $(nvcc --version 2>/dev/null | tail -n 1 || echo unknown)"
  echo "- build: $((built - start)) s; [cuda] tests: $((tested - built)) s; benchmarks: $((benched - tested)) s"
  echo "- result: $([ $status -eq 0 ] && echo PASSED || echo FAILED) — ${summary:-no summary line}"
  echo "- families exercised: copies, gemm, elementwise, reduce, nn, movement, scan, gated_scan, attention, moe, optim"
  echo "  (tests/kernels/test_cuda*.cpp, tests/layers/test_moe.cpp, every mixer in tests/layers/test_mixer_conformance.cpp,"
  echo "  tests/models/test_cuda_model.cpp)"
  echo
  echo '```'
  grep -E "failed|FAILED|passed|skipped" "$log" | tail -n 40
  echo '```'
  echo
  echo "## Benchmarks"
  echo
  cat "$bench"
} > "$report"
cat "$report"
exit $status
