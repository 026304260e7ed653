#!/usr/bin/env bash
# Installs what building Almanac needs beyond a Rust toolchain, if missing:
# a C++ compiler and libclang (RocksDB's C++ sources and their bindings).
set -euo pipefail

missing=()
command -v c++ >/dev/null 2>&1 || missing+=(g++)
command -v make >/dev/null 2>&1 || missing+=(make)
dpkg -s libclang-dev >/dev/null 2>&1 || missing+=(libclang-dev)

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

echo "installing build dependencies: ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq "${missing[@]}" >/dev/null
