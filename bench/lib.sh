# Shared helpers for the benchmark scripts (sourced). Server under test on SERVER_CPU, the load
# generator on LOADGEN_CPU; both with nice BENCH_NICE so that unrelated work on this shared
# 2-core box disturbs the figures less (set BENCH_NICE=0 to run at normal priority).
set -euo pipefail
BENCH_NICE=${BENCH_NICE:--10}
# With sched_autogroup (on here), nice only ranks processes inside one session: give the run its
# own session and raise that session's weight, or unrelated builds take most of both cores.
if [[ -z ${BENCH_SESSION:-} && $BENCH_NICE != 0 ]]; then
  BENCH_SESSION=1 exec setsid -w bash "$0" "$@"
fi
if [[ -w /proc/self/autogroup ]]; then echo "$BENCH_NICE" >/proc/self/autogroup 2>/dev/null || true; fi
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$BENCH_DIR/.." && pwd)
BUILD=${BUILD:-$REPO/build/h-bench}
SERVER_BIN=${SERVER_BIN:-$BUILD/src/webpubsub-server}
LOADGEN=${LOADGEN:-$BUILD/bench/loadgen}
ECHO_HANDLER=${ECHO_HANDLER:-$BUILD/bench/echo_handler}
SERVER_CPU=${SERVER_CPU:-0}
LOADGEN_CPU=${LOADGEN_CPU:-1}
RESULTS=${RESULTS:-$REPO/build/bench-results}
WPS_PORT=${WPS_PORT:-18480}
# Event-loop threads of webpubsub-server (--threads; 0 = one per core). 1 by default, so that rows
# stay comparable with the peers' single event loop. With more, give the server more cores too
# (SERVER_CPU=0,1 on this 2-core box, which then shares them with the load generator).
WPS_THREADS=${WPS_THREADS:-1}
NCHAN_PORT=${NCHAN_PORT:-18490}
MOSQUITTO_PORT=${MOSQUITTO_PORT:-18500}
BUN_PORT=${BUN_PORT:-18510}
BUN_BIN=${BUN_BIN:-$BENCH_DIR/node_modules/bun/bin/bun.exe}
mkdir -p "$RESULTS"
SERVER_PID=""
NGINX_DIR=""
MOSQUITTO_DIR=""

need_binaries() {
  # Always brought up to date (a no-op when nothing changed): a stale binary from an earlier
  # checkout would measure old code.
  if [[ ! -f $BUILD/build.ninja ]]; then
    echo "configuring $BUILD" >&2
    cmake -S "$REPO" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWPS_BUILD_TESTS=OFF >/dev/null
  fi
  cmake --build "$BUILD" --target loadgen echo_handler webpubsub-server >/dev/null
  if [[ ! -x $SERVER_BIN || ! -x $LOADGEN || ! -x $ECHO_HANDLER ]]; then
    echo "missing binaries: $SERVER_BIN $LOADGEN $ECHO_HANDLER" >&2
    exit 1
  fi
}

run_pinned() {  # cpu, command...
  local cpu=$1; shift
  nice -n "$BENCH_NICE" taskset -c "$cpu" "$@"
}

port_free() {  # port
  if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
    echo "port $1 is already in use (a leftover server?)" >&2; return 1
  fi
}

wait_port() {  # port (the server just started is $SERVER_PID)
  for _ in $(seq 1 100); do
    kill -0 "$SERVER_PID" 2>/dev/null || { echo "server exited:" >&2; tail -3 "$RESULTS"/*.log >&2; return 1; }
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "nothing listens on port $1" >&2; return 1
}

# MALLOC_COUNT=1: the server runs with bench/malloc_count preloaded, counting its heap
# allocations into $MALLOC_COUNT_FILE; pass $(malloc_count_args) to loadgen to report them per step.
MALLOC_COUNT=${MALLOC_COUNT:-0}
MALLOC_COUNT_FILE=${MALLOC_COUNT_FILE:-$RESULTS/malloc-count.bin}
malloc_count_args() { if [[ $MALLOC_COUNT == 1 ]]; then echo "--malloc-count-file $MALLOC_COUNT_FILE"; fi; }

start_wps() {  # extra server args...
  stop_server
  port_free "$WPS_PORT"
  local preload=()
  if [[ $MALLOC_COUNT == 1 ]]; then
    cmake --build "$BUILD" --target malloc_count >/dev/null
    preload=(env "LD_PRELOAD=$BUILD/bench/libmalloc_count.so" "MALLOC_COUNT_FILE=$MALLOC_COUNT_FILE")
  fi
  nice -n "$BENCH_NICE" taskset -c "$SERVER_CPU" "${preload[@]}" "$SERVER_BIN" --host 127.0.0.1 --port "$WPS_PORT" --threads "$WPS_THREADS" --log-level warn "$@" \
    >"$RESULTS/server.log" 2>&1 &
  SERVER_PID=$!
  wait_port "$WPS_PORT"
}

ensure_nchan() {
  if [[ ! -e /usr/lib/nginx/modules/ngx_nchan_module.so ]] || ! command -v nginx >/dev/null; then
    echo "installing nginx and libnginx-mod-nchan (Debian packages)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nginx libnginx-mod-nchan >/dev/null ||
      { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nginx libnginx-mod-nchan >/dev/null; }
    # The package starts a system nginx on port 80; we only use our own instance.
    systemctl stop nginx 2>/dev/null || true
  fi
}

# One worker, memory store, loopback only: /sub/<channel> WebSocket subscribers, /pub/<channel> HTTP publish.
start_nchan() {
  stop_server
  port_free "$NCHAN_PORT"
  NGINX_DIR=$(mktemp -d /tmp/bench-nchan.XXXXXX)
  cat >"$NGINX_DIR/nginx.conf" <<CONF
load_module /usr/lib/nginx/modules/ngx_nchan_module.so;
worker_processes 1;
worker_rlimit_nofile 20000;
daemon off;
master_process on;
pid $NGINX_DIR/nginx.pid;
error_log $NGINX_DIR/error.log warn;
events { worker_connections 19990; multi_accept on; }
http {
  access_log off;
  client_body_temp_path $NGINX_DIR;
  proxy_temp_path $NGINX_DIR;
  fastcgi_temp_path $NGINX_DIR;
  uwsgi_temp_path $NGINX_DIR;
  scgi_temp_path $NGINX_DIR;
  nchan_max_reserved_memory 256M;
  server {
    listen 127.0.0.1:$NCHAN_PORT backlog=4096;
    location ~ ^/sub/(\w+)$ {
      nchan_subscriber websocket;
      nchan_channel_id \$1;
      nchan_subscriber_first_message newest;
    }
    location ~ ^/pub/(\w+)$ {
      nchan_publisher http;
      nchan_channel_id \$1;
      nchan_message_buffer_length 16;
      nchan_message_timeout 10s;
    }
  }
}
CONF
  nice -n "$BENCH_NICE" taskset -c "$SERVER_CPU" nginx -c "$NGINX_DIR/nginx.conf" -p "$NGINX_DIR" >"$RESULTS/nginx.log" 2>&1 &
  SERVER_PID=$!
  wait_port "$NCHAN_PORT"
  # Measure the single worker (the master only forks it).
  local w=""
  for _ in $(seq 1 50); do
    w=$(pgrep -P "$SERVER_PID" | head -1 || true)
    [[ -n $w ]] && break
    sleep 0.05
  done
  NCHAN_WORKER=$w
  taskset -pc "$SERVER_CPU" "$NCHAN_WORKER" >/dev/null
}

ensure_mosquitto() {
  if ! command -v mosquitto >/dev/null && [[ ! -x /usr/sbin/mosquitto ]]; then
    echo "installing mosquitto (Debian package)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends mosquitto >/dev/null ||
      { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends mosquitto >/dev/null; }
    # The package may start a system broker on port 1883; we only use our own instance.
    systemctl stop mosquitto 2>/dev/null || true
  fi
}

# Mosquitto (one thread, no persistence, anonymous): MQTT over WebSocket on MOSQUITTO_PORT (any
# path, subprotocol mqtt). Mosquitto 2.0.11 (Debian 12) refuses to start with only WebSocket
# listeners ("Unable to start any listening sockets"), so it also gets a plain MQTT listener on
# MOSQUITTO_PORT + 1, which the benchmark does not use.
start_mosquitto() {
  stop_server
  port_free "$MOSQUITTO_PORT"
  port_free "$((MOSQUITTO_PORT + 1))"
  MOSQUITTO_DIR=$(mktemp -d /tmp/bench-mosquitto.XXXXXX)
  cat >"$MOSQUITTO_DIR/mosquitto.conf" <<CONF
per_listener_settings false
allow_anonymous true
persistence false
sys_interval 0
set_tcp_nodelay true
log_dest stderr
log_type error
log_type warning
listener $MOSQUITTO_PORT 127.0.0.1
protocol websockets
max_connections -1
listener $((MOSQUITTO_PORT + 1)) 127.0.0.1
protocol mqtt
max_connections -1
CONF
  local bin
  bin=$(command -v mosquitto || echo /usr/sbin/mosquitto)
  nice -n "$BENCH_NICE" taskset -c "$SERVER_CPU" "$bin" -c "$MOSQUITTO_DIR/mosquitto.conf" >"$RESULTS/mosquitto.log" 2>&1 &
  SERVER_PID=$!
  wait_port "$MOSQUITTO_PORT"
}

# Bun (the peer of issue 14): the npm package `bun`, pinned in bench/package.json and
# bench/package-lock.json, installed into bench/node_modules by `npm ci`. Its postinstall puts the
# platform binary (@oven/bun-linux-x64 here) at node_modules/bun/bin/bun.exe; we run that binary
# directly, so that the measured pid is Bun itself and not a node wrapper.
ensure_bun() {
  if [[ ! -x $BUN_BIN ]] || ! "$BUN_BIN" --version >/dev/null 2>&1; then
    echo "installing bun (npm ci in $BENCH_DIR)" >&2
    (cd "$BENCH_DIR" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  fi
  "$BUN_BIN" --version >/dev/null 2>&1 || { echo "bun did not install: $BUN_BIN" >&2; exit 1; }
}

# Bun.serve pub/sub (bench/bun_server.mjs): /sub/<topic> WebSocket subscribers, POST /pub/<topic>.
# All of its threads (the event loop, JavaScriptCore's GC and JIT helpers) on SERVER_CPU.
start_bun() {
  stop_server
  port_free "$BUN_PORT"
  BUN_PORT=$BUN_PORT nice -n "$BENCH_NICE" taskset -c "$SERVER_CPU" "$BUN_BIN" "$BENCH_DIR/bun_server.mjs" \
    >"$RESULTS/bun.log" 2>&1 &
  SERVER_PID=$!
  wait_port "$BUN_PORT"
}

stop_server() {
  if [[ -n $SERVER_PID ]]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
  fi
  if [[ -n $NGINX_DIR ]]; then rm -rf "$NGINX_DIR"; NGINX_DIR=""; fi
  if [[ -n $MOSQUITTO_DIR ]]; then rm -rf "$MOSQUITTO_DIR"; MOSQUITTO_DIR=""; fi
}
trap stop_server EXIT

# loadgen against the current server; the last stdout line is the JSON result, appended to $OUT.
loadgen() {  # out-file, args...
  local out=$1; shift
  nice -n "$BENCH_NICE" timeout 75 "$LOADGEN" --cpu "$LOADGEN_CPU" "$@" | tail -1 | tee -a "$out"
}

# Rates (publishes/s) that step the delivery rate through the given deliveries/s for N subscribers.
rates_for() {  # n, deliveries...
  local n=$1; shift
  local out=()
  for d in "$@"; do out+=("$(( (d + n - 1) / n ))"); done
  (IFS=,; echo "${out[*]}")
}
