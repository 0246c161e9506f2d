#!/usr/bin/env bash
# Installs every Debian package snapsim builds, tests and runs with. Idempotent: installs only what is missing.
# Usage: tools/setup.sh [--fuzz]   (as root, or with sudo available)
#   --fuzz also installs clang and its runtimes (libFuzzer, sanitizers) for --config=fuzz and --config=tsan.
set -euo pipefail

packages=(
  bazel-bootstrap      # Bazel 4.2.3 (/usr/bin/bazel)
  bazel-rules-cc       # rules_cc, patched at load time by third_party/debian_rules_cc.bzl
  bazel-rules-java     # parsed by every cc_test
  bazel-platforms
  bazel-skylib
  g++
  librocksdb-dev       # RocksDB 7.8.3
  libabsl-dev          # abseil 20220623
  libgtest-dev
  libgmock-dev
  librapidcheck-dev
  libbenchmark-dev
  libtcmalloc-minimal4 # gperftools' tcmalloc: the allocator of snapsim and its benchmarks (issue #15)
  nlohmann-json3-dev   # JSON for sweep records and reports (header only)
  python3              # //tests:docs_test runs the documentation's examples (tests/docs_test.py)
  rocksdb-tools        # ldb, sst_dump: for debugging, not for the build
  unzip                # tools/nightly_sweep.sh opens the shards' outputs.zip
)

for arg in "$@"; do
  case "$arg" in
    --fuzz) packages+=(clang libclang-rt-14-dev) ;;
    *) echo "usage: tools/setup.sh [--fuzz]" >&2; exit 2 ;;
  esac
done

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

sudo_command=()
if [ "$(id -u)" -ne 0 ]; then
  sudo_command=(sudo)
fi
echo "snapsim setup: installing ${missing[*]}" >&2
"${sudo_command[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_command[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
