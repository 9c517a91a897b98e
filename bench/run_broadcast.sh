#!/usr/bin/env bash
# Broadcast scenario: one group of N subscribers (1,000, 5,000, 10,000), 256-byte payloads,
# publish rate stepped up until p99 > 100 ms (1 s from N=10,000), the server core saturates, or deliveries drop.
# Server pinned to SERVER_CPU (one event-loop thread), loadgen to LOADGEN_CPU.
#   TARGET=wps   (default) webpubsub-server, json.webpubsub.azure.v1 subscribers, REST publish
#   TARGET=nchan nginx + nchan, WebSocket subscribers, HTTP POST publish (generic mode)
# Env: SIZES="1000 5000 10000", PAYLOAD=256, PROTOCOL=json|simple|reliable|protobuf, PUBLISH=rest|ws,
#      STEP_SECONDS=4, PUBLISH_CONNS=4 (keep-alive publishers, one request in flight each).
#      Results: one JSON line per N in $RESULTS/broadcast-$TARGET.jsonl.
source "$(dirname "$0")/lib.sh"
TARGET=${TARGET:-wps}
SIZES=${SIZES:-"1000 5000 10000"}
PAYLOAD=${PAYLOAD:-256}
PROTOCOL=${PROTOCOL:-json}
PUBLISH=${PUBLISH:-rest}
STEP_SECONDS=${STEP_SECONDS:-4}
PUBLISH_CONNS=${PUBLISH_CONNS:-4}
# Delivery-rate steps (deliveries/s); each N turns them into publishes/s.
DELIVERIES=${DELIVERIES:-"25000 50000 75000 100000 125000 150000 200000 250000 300000 400000"}
# p99 bound that ends the stepping. One publish to N subscribers is a burst of N deliveries, so the
# last recipient waits for the whole fan-out (server and generator): from 10,000 subscribers on,
# use the Azure performance guide's 1 s bound unless SLO_MS is set.
slo_for() { if [[ -n ${SLO_MS:-} ]]; then echo "$SLO_MS"; elif (( $1 >= 10000 )); then echo 1000; else echo 100; fi; }
OUT=${OUT:-$RESULTS/broadcast-$TARGET.jsonl}
need_binaries
[[ $TARGET == nchan ]] && ensure_nchan

for n in $SIZES; do
  rates=$(rates_for "$n" $DELIVERIES)
  echo "== broadcast $TARGET N=$n payload=$PAYLOAD rates=$rates" >&2
  if [[ $TARGET == nchan ]]; then
    start_nchan
    loadgen "$OUT" --mode generic --label "nchan broadcast N=$n" --connections "$n" --payload "$PAYLOAD" \
      --subscribe-url-template "ws://127.0.0.1:$NCHAN_PORT/sub/bench" --publish-url "http://127.0.0.1:$NCHAN_PORT/pub/bench" \
      --rates "$rates" --step-seconds "$STEP_SECONDS" --duration 60 --slo-p99-ms "$(slo_for "$n")" --server-pid "$NCHAN_WORKER" \
      --publish-conns "$PUBLISH_CONNS"
  else
    start_wps
    loadgen "$OUT" --label "wps broadcast N=$n $PROTOCOL/$PUBLISH" --port "$WPS_PORT" --connections "$n" \
      --payload "$PAYLOAD" --protocol "$PROTOCOL" --publish "$PUBLISH" \
      --rates "$rates" --step-seconds "$STEP_SECONDS" --duration 60 --slo-p99-ms "$(slo_for "$n")" --server-pid "$SERVER_PID" \
      --publish-conns "$PUBLISH_CONNS" ${LOADGEN_ARGS:-}
  fi
  stop_server
done
