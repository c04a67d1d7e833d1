#!/usr/bin/env bash
# Installs every Debian package mpcc needs to build, test and regenerate its
# fixtures. Safe to run more than once: apt-get skips what is already there.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libonnx-dev libprotobuf-dev protobuf-compiler
  llvm-14-dev llvm-14-tools
  libfmt-dev catch2 libssl-dev
  zlib1g-dev # .npz archives (mpcc eval --data)
  libopenblas-dev libopenblas0-pthread
  python3-numpy
  clang-format-14
  libonnx-testdata # ONNX's node tests, run by ctest's onnx-node-tests
)
# Only needed to regenerate fixtures (scripts/make_*fixture*.py), to
# distil students (python/mpcc_distill) and to run examples/ (Fashion-MNIST
# for examples/fashion); tests use the committed files. Set
# MPCC_WITH_TORCH=1 to install them.
if [[ "${MPCC_WITH_TORCH:-0}" == 1 ]]; then
  packages+=(python3-torch python3-onnx dataset-fashion-mnist)
fi

# Only needed by scripts/fuzz.sh (libFuzzer builds with clang).
if [[ "${MPCC_WITH_FUZZ:-0}" == 1 ]]; then
  packages+=(clang-14 libclang-rt-14-dev)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
SUDO=""
[[ $(id -u) == 0 ]] || SUDO=sudo
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
