#!/usr/bin/env bash
# Cross-node broadcast (issue 8): redis-server and two nodes, A and B, sharing it. N subscribers
# (json.webpubsub.azure.v1) in one group on node B; REST publishes on node A, so every message
# goes A -> Redis -> B -> N clients. Redis and both nodes on SERVER_CPU (one event-loop thread
# each), loadgen on LOADGEN_CPU; rate stepped as in run_broadcast.sh.
# Env: SIZES="1000 5000", PAYLOAD=256, STEP_SECONDS=4, DELIVERIES="...",
#   PROTOCOL=json|reliable (the subscribers' protocol; reliable acks once a second),
#   RECOVERY=on|off (--cluster-session-recovery: publications logged in Redis, sessions stored).
# Results: one JSON line per N in $RESULTS/broadcast-cluster.jsonl; with RECOVERY=on the Redis
# memory of the hub's log and of one session state are printed after each run.
source "$(dirname "$0")/lib.sh"
SIZES=${SIZES:-"1000 5000"}
PAYLOAD=${PAYLOAD:-256}
STEP_SECONDS=${STEP_SECONDS:-4}
DELIVERIES=${DELIVERIES:-"25000 50000 75000 100000 125000 150000 200000 250000"}
OUT=${OUT:-$RESULTS/broadcast-cluster.jsonl}
PROTOCOL=${PROTOCOL:-json}
RECOVERY=${RECOVERY:-on}
REDIS_PORT=${REDIS_PORT:-18470}
NODE_A_PORT=${NODE_A_PORT:-18481}
need_binaries

REDIS_PID="" NODE_A_PID=""
stop_cluster() {
  stop_server
  for p in $NODE_A_PID $REDIS_PID; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  NODE_A_PID="" REDIS_PID=""
}
trap stop_cluster EXIT

for n in $SIZES; do
  rates=$(rates_for "$n" $DELIVERIES)
  echo "== cross-node broadcast N=$n payload=$PAYLOAD rates=$rates" >&2
  port_free "$REDIS_PORT"
  port_free "$NODE_A_PORT"
  nice -n "$BENCH_NICE" taskset -c "$SERVER_CPU" redis-server --port "$REDIS_PORT" --bind 127.0.0.1 \
    --save '' --appendonly no >"$RESULTS/redis.log" 2>&1 &
  REDIS_PID=$!
  for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$REDIS_PORT") 2>/dev/null && break; sleep 0.05; done
  redis_url="redis://127.0.0.1:$REDIS_PORT"
  recovery=(--cluster-session-recovery "$([[ $RECOVERY == on ]] && echo true || echo false)")
  nice -n "$BENCH_NICE" taskset -c "$SERVER_CPU" "$SERVER_BIN" --host 127.0.0.1 --port "$NODE_A_PORT" \
    --threads 1 --log-level warn --redis-url "$redis_url" --audience-ignore-host "${recovery[@]}" \
    >"$RESULTS/node-a.log" 2>&1 &
  NODE_A_PID=$!
  start_wps --redis-url "$redis_url" --audience-ignore-host "${recovery[@]}"  # node B: the subscribers'
  loadgen "$OUT" --label "wps cross-node broadcast N=$n $PROTOCOL recovery=$RECOVERY (subscribers on B, REST on A)" \
    --port "$WPS_PORT" --publish-port "$NODE_A_PORT" --connections "$n" --payload "$PAYLOAD" \
    --protocol "$PROTOCOL" --publish rest \
    --rates "$rates" --step-seconds "$STEP_SECONDS" --duration 60 --slo-p99-ms 100 --server-pid "$SERVER_PID"
  if [[ $RECOVERY == on ]]; then
    set +e
    cli=(redis-cli -p "$REDIS_PORT")
    log_key=$("${cli[@]}" --scan --pattern 'wps:0:log:*' | head -1)
    session_key=$("${cli[@]}" --scan --pattern 'wps:0:s:*' | head -1)
    echo "redis: log $log_key: $("${cli[@]}" XLEN "$log_key") entries," \
      "$("${cli[@]}" MEMORY USAGE "$log_key" SAMPLES 0) bytes;" \
      "session states: $("${cli[@]}" --scan --pattern 'wps:0:s:*' | wc -l)," \
      "one is $("${cli[@]}" MEMORY USAGE "$session_key") bytes;" \
      "used_memory $("${cli[@]}" INFO memory | grep '^used_memory:' | cut -d: -f2 | tr -d '\r')" >&2
    set -e
  fi
  stop_cluster
done
