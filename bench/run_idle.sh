#!/usr/bin/env bash
# Idle scenario: N idle connections (5,000, 10,000, 19,000: this box allows 20,000 open files per
# process). Reports server RSS growth per connection and kernel TCP memory (/proc/net/sockstat,
# both ends of each loopback connection) per connection, measured after a 3 s hold.
#   TARGET=wps (json.webpubsub.azure.v1 clients, one group each via the token) | nchan | bun
#   (100 topics, like the 100 groups of ours) | "wps bun" (both, alternating per N)
source "$(dirname "$0")/lib.sh"
TARGET=${TARGET:-wps}
SIZES=${SIZES:-"5000 10000 19000"}
PROTOCOL=${PROTOCOL:-json}
need_binaries
[[ " $TARGET " == *" nchan "* ]] && ensure_nchan
[[ " $TARGET " == *" bun "* ]] && ensure_bun

for n in $SIZES; do
  for target in $TARGET; do
    out=${OUT:-$RESULTS/idle-$target.jsonl}
    echo "== idle $target N=$n; load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
    case $target in
      nchan)
        start_nchan
        sleep 0.3
        loadgen "$out" --mode generic --label "nchan idle N=$n" --connections "$n" --publish none --hold-seconds 3 \
          --subscribe-url-template "ws://127.0.0.1:$NCHAN_PORT/sub/c{i}" --duration 60 --server-pid "$NCHAN_WORKER"
        ;;
      bun)
        start_bun
        sleep 0.3
        loadgen "$out" --mode generic --label "bun idle N=$n" --connections "$n" --publish none --hold-seconds 3 \
          --subscribe-url-template "ws://127.0.0.1:$BUN_PORT/sub/c{g}" --groups 100 --duration 60 --server-pid "$SERVER_PID"
        ;;
      wps)
        start_wps
        sleep 0.3
        loadgen "$out" --label "wps idle N=$n $PROTOCOL" --port "$WPS_PORT" --connections "$n" --protocol "$PROTOCOL" \
          --groups 100 --publish none --hold-seconds 3 --duration 60 --server-pid "$SERVER_PID"
        ;;
      *) echo "unknown TARGET $target" >&2; exit 2 ;;
    esac
    stop_server
  done
done
