#!/usr/bin/env bash
# Quick start: install what is needed, build a release binary and run the server in the
# foreground on localhost:8080 (Ctrl-C stops it). Extra arguments go to the server, e.g.
#   scripts/start.sh --port 9090 --allow-anonymous
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$repo/scripts/setup.sh"
"$repo/scripts/build.sh" release
exec "$repo/build/release/src/webpubsub-server" "$@"
