#!/usr/bin/env bash
# Builds the Debian package from the release build (CPack DEB, cmake/Packaging.cmake) and prints
# its path on the last line: build/release/webpubsub-server_<version>_<arch>.deb
# Extra arguments go to the configure step (they stay in build/release's CMake cache), e.g. the
# container build leaves out the tests:
#   scripts/package.sh -DWPS_BUILD_TESTS=OFF -DWPS_BUILD_BENCH=OFF
# Needs dpkg-dev (dpkg-shlibdeps computes the dependencies) and file (scripts/setup.sh).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
cmake --preset release "$@" >/dev/null
cmake --build --preset release -- -j"$(nproc)"
cd build/release
rm -f webpubsub-server_*.deb
cpack -G DEB >cpack.log 2>&1 || { cat cpack.log; exit 1; }
deb=$(ls "$PWD"/webpubsub-server_*.deb)
echo "$deb"
