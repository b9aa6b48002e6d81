#!/usr/bin/env bash
# Builds here what scripts/gpu-check.sh runs on a GPU machine that cannot
# build mixlab itself: this workplace's lent H200 has nvcc, CMake and the
# CUDA libraries but none of the Debian packages (Boost, Eigen, Catch2,
# nlohmann-json) and no package registry (docs/cuda.md).
#
#   scripts/gpu-bundle.sh [CUDA_ARCH]     # default 90: H100/H200
#
# Writes .gpu-bundle/mixlab-gpu.tar.gz (git-ignored): mixlab and mixlab_tests
# compiled for that architecture, with portable x86-64-v3 host code, Eigen's
# GEMM instead of OpenBLAS, test data read from the current directory, and
# every shared library they load except the C library, the CUDA driver and
# cuBLAS (the GPU machine's driver and toolkit provide those); plus MANIFEST
# (commit, date).
# Carry `.gpu-bundle` to the GPU machine and run scripts/gpu-check.sh there:
# it uses the bundle instead of building when one is present.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
arch="${1:-90}"
[[ "$arch" =~ ^[0-9]+[a-z]?$ ]] || { echo "gpu-bundle: CUDA_ARCH must look like 90 or 90a, got '$arch'" >&2; exit 2; }
command -v /usr/local/cuda/bin/nvcc > /dev/null || command -v nvcc > /dev/null ||
  { echo "gpu-bundle: no nvcc here (the CUDA toolkit is needed to build the bundle)" >&2; exit 2; }

# The commit the binaries are built from, taken before the build starts.
dirty=$(git status --porcelain --untracked-files=no)
commit="$(git rev-parse HEAD)${dirty:+ (with uncommitted changes)}"
build=build-bundle
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DMIXLAB_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES="$arch" \
  -DMIXLAB_NATIVE=OFF -DMIXLAB_OPENBLAS=OFF -DCMAKE_CXX_FLAGS="-march=x86-64-v3" -DMIXLAB_TEST_SOURCE_DIR=. > /dev/null
cmake --build "$build" -j"$(nproc)" --target mixlab mixlab_tests

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin" "$stage/lib"
cp "$build/mixlab" "$build/mixlab_tests" "$stage/bin/"
# The libraries to carry: all but the C library family, the driver and cuBLAS
# (half a gigabyte: the GPU machine's toolkit or Python packages have it).
ldd "$build/mixlab" "$build/mixlab_tests" | awk '/=> \// {print $3}' | sort -u |
  grep -v -E '/(libc|libm|libdl|librt|libpthread|ld-linux[^/]*|libcuda|libcublas|libcublasLt)\.so' |
  while read -r lib; do cp -L "$lib" "$stage/lib/"; done

mkdir -p .gpu-bundle
tar -C "$stage" -czf .gpu-bundle/mixlab-gpu.tar.gz bin lib
{
  echo "commit: $commit"
  echo "built: $(date -u '+%Y-%m-%d %H:%M UTC') on $(uname -m), CUDA arch $arch, $(/usr/local/cuda/bin/nvcc --version | tail -n 1)"
  echo "libraries: $(ls "$stage/lib" | tr '\n' ' ')"
} > .gpu-bundle/MANIFEST
cat .gpu-bundle/MANIFEST
echo "gpu-bundle: .gpu-bundle/ holds $(du -sh .gpu-bundle | cut -f1); carry it and run scripts/gpu-check.sh on the GPU machine"
