#!/usr/bin/env bash
# MQTT broadcast side by side with Mosquitto (issue 16): one topic (for us: one group) with N MQTT
# 3.1.1 subscribers over WebSocket (subprotocol mqtt, SUBSCRIBE at QoS 0), and MQTT publisher
# connections sending PUBLISH QoS 0 to it, the rate stepped up until p99 > SLO_MS, the server core
# saturates, or deliveries drop. The same generator, subscribers and publish path for both servers;
# each server pinned to SERVER_CPU with one thread (Mosquitto has one), the generator on LOADGEN_CPU.
#   TARGET="wps mosquitto" (default: both in this run, alternating per N), or one of them.
#   wps:       webpubsub-server, /clients/mqtt/hubs/bench with an MQTT token per connection
#   mosquitto: the Debian package (installed if missing), its own instance from a generated config
#              (WebSocket listener, anonymous, no persistence), not the system service
# Env: SIZES="5000", PAYLOAD=256, STEP_SECONDS=4, PUBLISH_CONNS=4, SLO_MS=100, DELIVERIES="...".
# Results: one JSON line per N and server in $RESULTS/mqtt-{wps,mosquitto}.jsonl (emptied first),
# then `python3 bench/table.py $RESULTS --mqtt` (also in $RESULTS/mqtt-table.txt).
source "$(dirname "$0")/lib.sh"
TARGETS=${TARGET:-"wps mosquitto"}
SIZES=${SIZES:-5000}
PAYLOAD=${PAYLOAD:-256}
STEP_SECONDS=${STEP_SECONDS:-4}
PUBLISH_CONNS=${PUBLISH_CONNS:-4}
SLO_MS=${SLO_MS:-100}
# Delivery-rate steps (deliveries/s); each N turns them into publishes/s.
DELIVERIES=${DELIVERIES:-"10000 25000 50000 100000 200000 300000 400000 500000 600000 800000"}
need_binaries
for target in $TARGETS; do
  case $target in
    wps) ;;
    mosquitto) ensure_mosquitto ;;
    *) echo "unknown TARGET $target (wps or mosquitto)" >&2; exit 2 ;;
  esac
  rm -f "$RESULTS/mqtt-$target.jsonl"
done

for n in $SIZES; do
  rates=$(rates_for "$n" $DELIVERIES)
  for target in $TARGETS; do
    echo "== mqtt broadcast $target N=$n payload=$PAYLOAD rates=$rates" >&2
    common=(--protocol mqtt --connections "$n" --payload "$PAYLOAD" --rates "$rates" --step-seconds "$STEP_SECONDS"
      --duration 60 --slo-p99-ms "$SLO_MS" --publish-conns "$PUBLISH_CONNS")
    if [[ $target == mosquitto ]]; then
      start_mosquitto
      loadgen "$RESULTS/mqtt-$target.jsonl" --mode generic --label "mosquitto mqtt broadcast N=$n" \
        --subscribe-url-template "ws://127.0.0.1:$MOSQUITTO_PORT/mqtt" --publish mqtt --server-pid "$SERVER_PID" \
        "${common[@]}" ${LOADGEN_ARGS:-}
    else
      start_wps
      loadgen "$RESULTS/mqtt-$target.jsonl" --label "wps mqtt broadcast N=$n" --port "$WPS_PORT" --publish mqtt \
        --server-pid "$SERVER_PID" "${common[@]}" ${LOADGEN_ARGS:-}
    fi
    stop_server
  done
done
python3 "$BENCH_DIR/table.py" "$RESULTS" --mqtt | tee "$RESULTS/mqtt-table.txt"
