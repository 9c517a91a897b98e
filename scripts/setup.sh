#!/usr/bin/env bash
# Installs everything the build and the tests need on Debian 12 (run as root), then the pinned
# npm test dependencies. Safe to run again: it installs only what is missing.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Build: compilers, CMake/Ninja, Boost 1.81 (Beast, Asio, JSON, URL), OpenSSL 3, GoogleTest.
# Fuzzing: clang 14 with its sanitizer/libFuzzer runtime. Tests: Debian's Python SDK and
# websockets, pytest, and the packages the integration suite lists in scripts/apt-packages.txt.
packages=(
  build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libssl-dev libgtest-dev libgmock-dev
  python3 python3-azure python3-websockets python3-pytest
  curl ca-certificates
)
if [[ -f "$repo/scripts/apt-packages.txt" ]]; then
  while read -r line; do
    line="${line%%#*}"
    line="$(echo "$line" | xargs)"
    [[ -n "$line" ]] && packages+=("$line")
  done < "$repo/scripts/apt-packages.txt"
fi
# Node.js and npm run the JavaScript SDK tests; keep an existing installation (it may come from
# another source whose npm conflicts with Debian's).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Pinned JavaScript test dependencies (package-lock.json).
cd "$repo/tests/integration"
if [[ ! -d node_modules/@azure/web-pubsub-client ]] || [[ package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "setup: npm ci (tests/integration)"
  npm ci --no-audit --no-fund --loglevel=error
fi
