#!/usr/bin/env bash
# Installs the Debian packages mixlab needs (only when one is missing, so a
# second run is quick), then configures and builds mixlab in build/ (Release;
# the CUDA backend is built when nvcc is found: MIXLAB_CUDA=AUTO).
#
#   scripts/setup.sh                      # packages + build/
#   MIXLAB_BUILD_DIR=build-dbg MIXLAB_CMAKE_ARGS="-DCMAKE_BUILD_TYPE=Debug -DMIXLAB_CUDA=OFF" scripts/setup.sh
#   MIXLAB_CUDA=OFF scripts/setup.sh      # the CPU-only configuration (AUTO|ON|OFF as the CMake option)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

packages=(
  build-essential cmake            # compiler, make, CMake >= 3.25
  libeigen3-dev                    # Eigen 3.4: tensors' CPU math, a GEMM backend
  libopenblas-openmp-dev           # the default GEMM backend, OpenMP build (see CMakeLists.txt)
  libboost-program-options-dev     # command lines and INI configs
  libboost-iostreams-dev libboost-filesystem-dev  # gnuplot-iostream's pipes and paths
  catch2                           # tests (Catch2 v2)
  nlohmann-json3-dev               # metrics.jsonl, safetensors headers
  libfmt-dev                       # formatting
  libfftw3-dev                     # FFTW: the CPU FFT path of the long convolution (float and double)
  gnuplot-nox libgnuplot-iostream-dev  # plots
  python3                          # scripts/sweep and its tests (standard library only)
)
missing=()
for package in "${packages[@]}"; do
  if [[ "$(dpkg-query -W -f='${db:Status-Status}' "$package" 2>/dev/null)" != installed ]]; then
    missing+=("$package")
  fi
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo=()
  if [[ "$(id -u)" != 0 ]]; then sudo=(sudo); fi
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

build_dir="${MIXLAB_BUILD_DIR:-build}"
# MIXLAB_CMAKE_ARGS is split on spaces on purpose: it carries -D options.
# shellcheck disable=SC2086
cuda=()
if [[ -n "${MIXLAB_CUDA:-}" ]]; then cuda=(-DMIXLAB_CUDA="$MIXLAB_CUDA"); fi
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release "${cuda[@]}" ${MIXLAB_CMAKE_ARGS:-}
cmake --build "$build_dir" -j"$(nproc)"
