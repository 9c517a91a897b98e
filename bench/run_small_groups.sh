#!/usr/bin/env bash
# Small-groups scenario (issue 6): N json.webpubsub.azure.v1 clients in groups of GROUP_SIZE (10);
# the clients themselves publish: each sends sendToGroup (with echo) to its own group,
# round-robin, so every publish is GROUP_SIZE deliveries. The delivery rate is stepped up until
# p99 > 100 ms, the server core saturates, or deliveries fall behind.
# Server pinned to SERVER_CPU (one event-loop thread), loadgen to LOADGEN_CPU.
#   TARGET=wps (default) | bun (Bun.serve, bench/bun_server.mjs: each member sends its bare payload
#   and Bun publishes it, wrapped in the same envelope, to the member's topic, sender included) |
#   "wps bun" (both, alternating per N, REPEAT times).
# Env: SIZES="1000 10000", GROUP_SIZE=10, PAYLOAD=256, STEP_SECONDS=4, DELIVERIES="...",
#      PROTOCOL=json|protobuf (the members publish in their own protocol), REPEAT=1.
# Results: one JSON line per N in $RESULTS/small-groups.jsonl (bun: small-groups-bun.jsonl).
source "$(dirname "$0")/lib.sh"
SIZES=${SIZES:-"1000 10000"}
GROUP_SIZE=${GROUP_SIZE:-10}
PAYLOAD=${PAYLOAD:-256}
STEP_SECONDS=${STEP_SECONDS:-4}
DELIVERIES=${DELIVERIES:-"25000 50000 75000 100000 125000 150000 200000 250000 300000"}
TARGET=${TARGET:-wps}
REPEAT=${REPEAT:-1}
need_binaries
[[ " $TARGET " == *" bun "* ]] && ensure_bun

for n in $SIZES; do
  groups=$(( n / GROUP_SIZE ))
  rates=$(rates_for "$GROUP_SIZE" $DELIVERIES)
  for r in $(seq 1 "$REPEAT"); do
    for target in $TARGET; do
      echo "== small groups $target N=$n groups=$groups of $GROUP_SIZE payload=$PAYLOAD publishes/s=$rates run $r; load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
      case $target in
        bun)
          start_bun
          loadgen "${OUT:-$RESULTS/small-groups-bun.jsonl}" --mode generic --label "bun small groups N=$n size=$GROUP_SIZE" \
            --connections "$n" --groups "$groups" --payload "$PAYLOAD" --publish members \
            --subscribe-url-template "ws://127.0.0.1:$BUN_PORT/sub/g{g}" \
            --rates "$rates" --step-seconds "$STEP_SECONDS" --duration 60 --slo-p99-ms "${SLO_MS:-100}" --server-pid "$SERVER_PID"
          ;;
        wps)
          start_wps
          loadgen "${OUT:-$RESULTS/small-groups.jsonl}" --label "wps small groups N=$n size=$GROUP_SIZE" --port "$WPS_PORT" --connections "$n" \
            --groups "$groups" --payload "$PAYLOAD" --protocol "${PROTOCOL:-json}" --publish members \
            --rates "$rates" --step-seconds "$STEP_SECONDS" --duration 60 --slo-p99-ms "${SLO_MS:-100}" --server-pid "$SERVER_PID"
          ;;
        *) echo "unknown TARGET $target" >&2; exit 2 ;;
      esac
      stop_server
    done
  done
done
