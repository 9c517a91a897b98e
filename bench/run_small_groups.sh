#!/usr/bin/env bash
# Small-groups scenario (issue 6): N json.webpubsub.azure.v1 clients in groups of GROUP_SIZE (10);
# the clients themselves publish: each sends sendToGroup (with echo) to its own group,
# round-robin, so every publish is GROUP_SIZE deliveries. The delivery rate is stepped up until
# p99 > 100 ms, the server core saturates, or deliveries fall behind.
# Server pinned to SERVER_CPU (one event-loop thread), loadgen to LOADGEN_CPU.
# Env: SIZES="1000 10000", GROUP_SIZE=10, PAYLOAD=256, STEP_SECONDS=4, DELIVERIES="...",
#      PROTOCOL=json|protobuf (the members publish in their own protocol).
# Results: one JSON line per N in $RESULTS/small-groups.jsonl.
source "$(dirname "$0")/lib.sh"
SIZES=${SIZES:-"1000 10000"}
GROUP_SIZE=${GROUP_SIZE:-10}
PAYLOAD=${PAYLOAD:-256}
STEP_SECONDS=${STEP_SECONDS:-4}
DELIVERIES=${DELIVERIES:-"25000 50000 75000 100000 125000 150000 200000 250000 300000"}
OUT=${OUT:-$RESULTS/small-groups.jsonl}
need_binaries

for n in $SIZES; do
  groups=$(( n / GROUP_SIZE ))
  rates=$(rates_for "$GROUP_SIZE" $DELIVERIES)
  echo "== small groups N=$n groups=$groups of $GROUP_SIZE payload=$PAYLOAD publishes/s=$rates" >&2
  start_wps
  loadgen "$OUT" --label "wps small groups N=$n size=$GROUP_SIZE" --port "$WPS_PORT" --connections "$n" \
    --groups "$groups" --payload "$PAYLOAD" --protocol "${PROTOCOL:-json}" --publish members \
    --rates "$rates" --step-seconds "$STEP_SECONDS" --duration 60 --slo-p99-ms "${SLO_MS:-100}" --server-pid "$SERVER_PID"
  stop_server
done
