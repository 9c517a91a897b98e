#!/usr/bin/env bash
# Broadcast scenario: one group of N subscribers (1,000, 5,000, 10,000), 256-byte payloads,
# publish rate stepped up until p99 > 100 ms (1 s from N=10,000), the server core saturates, or deliveries drop.
# Server pinned to SERVER_CPU (one event-loop thread), loadgen to LOADGEN_CPU.
#   TARGET=wps   (default) webpubsub-server, json.webpubsub.azure.v1 subscribers, REST publish
#   TARGET=nchan nginx + nchan, WebSocket subscribers, HTTP POST publish (generic mode)
#   TARGET=bun   Bun.serve pub/sub (bench/bun_server.mjs), WebSocket subscribers, HTTP POST publish
#   TARGET="wps bun" both, side by side: for each N one run of each, in that order, REPEAT times
#                (alternating, so that load from elsewhere on the machine hits both alike).
# Env: SIZES="1000 5000 10000", PAYLOAD=256, PROTOCOL=json|simple|reliable|protobuf, PUBLISH=rest|ws,
#      STEP_SECONDS=4, PUBLISH_CONNS=4 (keep-alive publishers, one request in flight each), REPEAT=1,
#      MALLOC_COUNT=1 (wps: count the server's heap allocations per step, see lib.sh),
#      WPS_THREADS=1 (wps: event loops; compare 1 and 2 with SERVER_CPU=0,1, see lib.sh).
#      Results: one JSON line per N and run in $RESULTS/broadcast-<target>.jsonl, each with the
#      load average at its start ("loadavg").
source "$(dirname "$0")/lib.sh"
TARGET=${TARGET:-wps}
SIZES=${SIZES:-"1000 5000 10000"}
PAYLOAD=${PAYLOAD:-256}
PROTOCOL=${PROTOCOL:-json}
PUBLISH=${PUBLISH:-rest}
STEP_SECONDS=${STEP_SECONDS:-4}
PUBLISH_CONNS=${PUBLISH_CONNS:-4}
REPEAT=${REPEAT:-1}
# Delivery-rate steps (deliveries/s); each N turns them into publishes/s.
DELIVERIES=${DELIVERIES:-"25000 50000 75000 100000 125000 150000 200000 250000 300000 400000"}
# p99 bound that ends the stepping. One publish to N subscribers is a burst of N deliveries, so the
# last recipient waits for the whole fan-out (server and generator): from 10,000 subscribers on,
# use the Azure performance guide's 1 s bound unless SLO_MS is set.
slo_for() { if [[ -n ${SLO_MS:-} ]]; then echo "$SLO_MS"; elif (( $1 >= 10000 )); then echo 1000; else echo 100; fi; }
need_binaries
[[ " $TARGET " == *" nchan "* ]] && ensure_nchan
[[ " $TARGET " == *" bun "* ]] && ensure_bun

for n in $SIZES; do
  rates=$(rates_for "$n" $DELIVERIES)
  for r in $(seq 1 "$REPEAT"); do
    for target in $TARGET; do
      out=${OUT:-$RESULTS/broadcast-$target.jsonl}
      echo "== broadcast $target N=$n payload=$PAYLOAD rates=$rates run $r; load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
      case $target in
        nchan)
          start_nchan
          loadgen "$out" --mode generic --label "nchan broadcast N=$n" --connections "$n" --payload "$PAYLOAD" \
            --subscribe-url-template "ws://127.0.0.1:$NCHAN_PORT/sub/bench" --publish-url "http://127.0.0.1:$NCHAN_PORT/pub/bench" \
            --rates "$rates" --step-seconds "$STEP_SECONDS" --duration 60 --slo-p99-ms "$(slo_for "$n")" --server-pid "$NCHAN_WORKER" \
            --publish-conns "$PUBLISH_CONNS"
          ;;
        bun)
          start_bun
          loadgen "$out" --mode generic --label "bun broadcast N=$n" --connections "$n" --payload "$PAYLOAD" \
            --subscribe-url-template "ws://127.0.0.1:$BUN_PORT/sub/bench" --publish-url "http://127.0.0.1:$BUN_PORT/pub/bench" \
            --rates "$rates" --step-seconds "$STEP_SECONDS" --duration 60 --slo-p99-ms "$(slo_for "$n")" --server-pid "$SERVER_PID" \
            --publish-conns "$PUBLISH_CONNS"
          ;;
        wps)
          start_wps
          loadgen "$out" --label "wps broadcast N=$n $PROTOCOL/$PUBLISH$([[ $WPS_THREADS != 1 ]] && echo " threads=$WPS_THREADS")" --port "$WPS_PORT" --connections "$n" \
            --payload "$PAYLOAD" --protocol "$PROTOCOL" --publish "$PUBLISH" \
            --rates "$rates" --step-seconds "$STEP_SECONDS" --duration 60 --slo-p99-ms "$(slo_for "$n")" --server-pid "$SERVER_PID" \
            --publish-conns "$PUBLISH_CONNS" $(malloc_count_args) ${LOADGEN_ARGS:-}
          ;;
        *) echo "unknown TARGET $target" >&2; exit 2 ;;
      esac
      stop_server
    done
  done
done
