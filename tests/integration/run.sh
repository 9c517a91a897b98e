#!/usr/bin/env bash
# Runs every integration test (node, python, java) against the real server binary.
#   WPS_SERVER_BIN=/path/to/webpubsub-server tests/integration/run.sh
# Default binary: <repo>/build/release/src/webpubsub-server.
# Assumes dependencies are installed: `npm ci` in tests/integration and the Debian packages of
# scripts/apt-packages.txt (python3-azure, python3-websockets, python3-pytest, Java + Jetty jars).
# Exits non-zero if any suite fails; every suite runs even if an earlier one failed.
set -u
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
export WPS_SERVER_BIN="${WPS_SERVER_BIN:-$repo/build/release/src/webpubsub-server}"
cd "$here"

if [[ ! -x "$WPS_SERVER_BIN" ]]; then
  echo "run.sh: server binary not found or not executable: $WPS_SERVER_BIN" >&2
  exit 2
fi
if [[ ! -d node_modules/@azure/web-pubsub-client ]]; then
  echo "run.sh: node_modules missing; run 'npm ci' in $here first" >&2
  exit 2
fi

status=0
echo "== node tests (server: $WPS_SERVER_BIN)"
# Each test file starts its own servers on port 0, so files can run in parallel. The outer timeout
# only catches a hang (each test has 60 s): the pass of the 30 files against the ThreadSanitizer
# build (the slowest) took 85 s on this 2-core machine when quiet and 107 s with two busy loops
# competing for both cores (Dec 2026; release: 85 s, the waits dominate), so 360 s leaves over 3x
# the loaded figure.
timeout 360 node --test --test-concurrency=2 --test-timeout=60000 js/*.test.mjs || status=1

echo "== node REST tests again, spread round-robin over a 3-node cluster on Redis (WPS_CLUSTER=1)"
# TSan: 5 s measured (same session as above).
WPS_CLUSTER=1 timeout 240 node --test --test-concurrency=2 --test-timeout=60000 \
  js/rest-manage.test.mjs js/rest-send.test.mjs js/rest-samples.test.mjs js/rest-errors.test.mjs || status=1

echo "== python tests"
# TSan: 4 s measured; most of the timeout is for servers that stop slowly (10 s each at most).
timeout 120 /usr/bin/python3 -m pytest -q -p no:cacheprovider python || status=1

if [[ $status -ne 0 ]]; then
  echo "integration tests: FAILED" >&2
else
  echo "integration tests: passed"
fi
exit $status
