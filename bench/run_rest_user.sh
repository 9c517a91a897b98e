#!/usr/bin/env bash
# REST sendToUser scenario (issue 6): N json.webpubsub.azure.v1 clients, one per user (u0..uN-1);
# the generator POSTs /api/hubs/bench/users/u<i>/:send (text/plain, PAYLOAD bytes) round-robin
# over the users on PUBLISH_CONNS keep-alive connections (one request in flight each), every
# request with its own Bearer JWT (audience = its URL; the server verifies each one). Requests/s
# are stepped up until p99 > 100 ms (send to delivery), the server core saturates, or deliveries
# fall behind. Server on SERVER_CPU (one event-loop thread), loadgen on LOADGEN_CPU.
# Env: N=1000, PUBLISH_CONNS=32, PAYLOAD=256, STEP_SECONDS=4, RATES="...".
source "$(dirname "$0")/lib.sh"
N=${N:-1000}
PUBLISH_CONNS=${PUBLISH_CONNS:-32}
PAYLOAD=${PAYLOAD:-256}
STEP_SECONDS=${STEP_SECONDS:-4}
RATES=${RATES:-"10000,20000,30000,40000,50000,60000,70000,80000"}
OUT=${OUT:-$RESULTS/rest-user.jsonl}
need_binaries

echo "== REST sendToUser N=$N publish-conns=$PUBLISH_CONNS payload=$PAYLOAD rates=$RATES" >&2
start_wps
loadgen "$OUT" --label "wps rest sendToUser N=$N conns=$PUBLISH_CONNS" --port "$WPS_PORT" --connections "$N" \
  --payload "$PAYLOAD" --protocol json --publish rest-user --publish-conns "$PUBLISH_CONNS" \
  --rates "$RATES" --step-seconds "$STEP_SECONDS" --duration 60 --slo-p99-ms "${SLO_MS:-100}" --server-pid "$SERVER_PID"
stop_server
