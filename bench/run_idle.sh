#!/usr/bin/env bash
# Idle scenario: N idle connections (5,000, 10,000, 19,000: this box allows 20,000 open files per
# process). Reports server RSS growth per connection and kernel TCP memory (/proc/net/sockstat,
# both ends of each loopback connection) per connection, measured after a 3 s hold.
#   TARGET=wps (json.webpubsub.azure.v1 clients, one group each via the token) | nchan
source "$(dirname "$0")/lib.sh"
TARGET=${TARGET:-wps}
SIZES=${SIZES:-"5000 10000 19000"}
PROTOCOL=${PROTOCOL:-json}
OUT=${OUT:-$RESULTS/idle-$TARGET.jsonl}
need_binaries
[[ $TARGET == nchan ]] && ensure_nchan

for n in $SIZES; do
  echo "== idle $TARGET N=$n" >&2
  if [[ $TARGET == nchan ]]; then
    start_nchan
    sleep 0.3
    loadgen "$OUT" --mode generic --label "nchan idle N=$n" --connections "$n" --publish none --hold-seconds 3 \
      --subscribe-url-template "ws://127.0.0.1:$NCHAN_PORT/sub/c{i}" --duration 60 --server-pid "$NCHAN_WORKER"
  else
    start_wps
    sleep 0.3
    loadgen "$OUT" --label "wps idle N=$n $PROTOCOL" --port "$WPS_PORT" --connections "$n" --protocol "$PROTOCOL" \
      --groups 100 --publish none --hold-seconds 3 --duration 60 --server-pid "$SERVER_PID"
  fi
  stop_server
done
