#!/usr/bin/env bash
# Webhook echo scenario (issue 4/6): N simple WebSocket clients each send timestamped 256-byte
# text frames; the server turns every frame into a `message` user event (CloudEvents POST) to
# an event handler that answers with the same body, and the server sends that reply back to the
# client as a text frame. Messages/s are round trips completed; latency is client send -> reply
# received. The rate is stepped up until p99 > 100 ms or round trips fall behind.
# Server on SERVER_CPU (one event-loop thread); loadgen and the handler (bench/echo_handler.cpp,
# a minimal one-thread C++ Beast keep-alive server) share LOADGEN_CPU.
# Env: SIZES="100 1000", PAYLOAD=256, STEP_SECONDS=4, RATES="5000,10000,...".
source "$(dirname "$0")/lib.sh"
SIZES=${SIZES:-"100 1000"}
PAYLOAD=${PAYLOAD:-256}
STEP_SECONDS=${STEP_SECONDS:-4}
RATES=${RATES:-"5000,10000,20000,30000,40000,50000,60000,80000"}
OUT=${OUT:-$RESULTS/webhook-echo.jsonl}
need_binaries

HANDLER_PID=""
stop_handler() { if [[ -n $HANDLER_PID ]]; then kill "$HANDLER_PID" 2>/dev/null || true; wait "$HANDLER_PID" 2>/dev/null || true; HANDLER_PID=""; fi; }
trap 'stop_handler; stop_server' EXIT

for n in $SIZES; do
  echo "== webhook echo N=$n payload=$PAYLOAD rates=$RATES" >&2
  stop_handler
  coproc HANDLER { exec nice -n "$BENCH_NICE" taskset -c "$LOADGEN_CPU" "$ECHO_HANDLER" 0; }
  HANDLER_PID=$HANDLER_PID
  read -r line <&"${HANDLER[0]}"
  handler_port=${line#HANDLER_PORT=}
  start_wps --event-handler "http://127.0.0.1:$handler_port/{event}"
  loadgen "$OUT" --label "wps webhook echo N=$n" --port "$WPS_PORT" --connections "$n" --payload "$PAYLOAD" \
    --protocol simple --publish echo --rates "$RATES" --step-seconds "$STEP_SECONDS" --duration 60 \
    --slo-p99-ms "${SLO_MS:-100}" --server-pid "$SERVER_PID"
  stop_server
done
stop_handler
