#!/usr/bin/env bash
# Configures and builds one CMake preset: release (default), dev (ASan+UBSan), tsan or fuzz.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
preset="${1:-release}"
cd "$repo"
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" -- -j"$(nproc)"
