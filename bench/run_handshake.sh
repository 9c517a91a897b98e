#!/usr/bin/env bash
# Handshake scenario (issue 6): N json.webpubsub.azure.v1 clients connect as fast as the server
# accepts them, CONCURRENCY connects in flight, each with its own token in access_token (HS256,
# verified by the server: signature, expiry, audience, then the upgrade, `connected` and the
# token's group join). The generator signs all tokens before the clock starts. Reports
# handshakes/s over the connect phase and handshakes per server CPU-second. Every connection is
# reset (not closed) by the generator at exit, so back-to-back runs do not exhaust ports.
# Server on SERVER_CPU (one event-loop thread), loadgen on LOADGEN_CPU.
# Env: SIZES="5000 10000" (kept under the 28k ephemeral ports of one source address),
#      CONCURRENCY=256, RUNS=3. Results: $RESULTS/handshake.jsonl.
source "$(dirname "$0")/lib.sh"
SIZES=${SIZES:-"5000 10000"}
CONCURRENCY=${CONCURRENCY:-256}
RUNS=${RUNS:-3}
OUT=${OUT:-$RESULTS/handshake.jsonl}
need_binaries

for n in $SIZES; do
  for r in $(seq 1 "$RUNS"); do
    echo "== handshakes N=$n concurrency=$CONCURRENCY run $r" >&2
    start_wps
    loadgen "$OUT" --label "wps handshakes N=$n run=$r" --port "$WPS_PORT" --connections "$n" --protocol json \
      --groups 100 --publish none --connect-concurrency "$CONCURRENCY" --duration 60 --server-pid "$SERVER_PID"
    stop_server
  done
done
