#!/usr/bin/env bash
# Handshake scenario (issue 6): N json.webpubsub.azure.v1 clients connect as fast as the server
# accepts them, CONCURRENCY connects in flight, each with its own token in access_token (HS256,
# verified by the server: signature, expiry, audience, then the upgrade, `connected` and the
# token's group join). The generator signs all tokens before the clock starts. Reports
# handshakes/s over the connect phase and handshakes per server CPU-second. Every connection is
# reset (not closed) by the generator at exit, so back-to-back runs do not exhaust ports.
# Server on SERVER_CPU (one event-loop thread), loadgen on LOADGEN_CPU.
#   TARGET=wps (default) | bun (Bun.serve, bench/bun_server.mjs: upgrade and subscribe to one of
#   100 topics, no token) | "wps bun" (both, alternating run by run).
# Env: SIZES="5000 10000" (kept under the 28k ephemeral ports of one source address),
#      CONCURRENCY=256, RUNS=3. Results: $RESULTS/handshake.jsonl (bun: handshake-bun.jsonl).
source "$(dirname "$0")/lib.sh"
TARGET=${TARGET:-wps}
SIZES=${SIZES:-"5000 10000"}
CONCURRENCY=${CONCURRENCY:-256}
RUNS=${RUNS:-3}
need_binaries
[[ " $TARGET " == *" bun "* ]] && ensure_bun

for n in $SIZES; do
  for r in $(seq 1 "$RUNS"); do
    for target in $TARGET; do
      echo "== handshakes $target N=$n concurrency=$CONCURRENCY run $r; load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
      case $target in
        bun)
          start_bun
          loadgen "${OUT:-$RESULTS/handshake-bun.jsonl}" --mode generic --label "bun handshakes N=$n run=$r" \
            --connections "$n" --groups 100 --subscribe-url-template "ws://127.0.0.1:$BUN_PORT/sub/c{g}" \
            --publish none --connect-concurrency "$CONCURRENCY" --duration 60 --server-pid "$SERVER_PID"
          ;;
        wps)
          start_wps
          loadgen "${OUT:-$RESULTS/handshake.jsonl}" --label "wps handshakes N=$n run=$r" --port "$WPS_PORT" --connections "$n" --protocol json \
            --groups 100 --publish none --connect-concurrency "$CONCURRENCY" --duration 60 --server-pid "$SERVER_PID"
          ;;
        *) echo "unknown TARGET $target" >&2; exit 2 ;;
      esac
      stop_server
    done
  done
done
