#!/usr/bin/env bash
# Side by side with nginx + nchan (Debian packages, installed if missing): the same broadcast and
# idle scenarios against both servers, each pinned to the same core with one worker / event-loop
# thread, the generator on the other core; then a table with the ratios.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
RESULTS=${RESULTS:-$here/../build/bench-results}
export RESULTS
mkdir -p "$RESULTS"
rm -f "$RESULTS"/broadcast-{wps,nchan}.jsonl "$RESULTS"/idle-{wps,nchan}.jsonl
for target in wps nchan; do
  TARGET=$target bash "$here/run_broadcast.sh"
  TARGET=$target bash "$here/run_idle.sh"
done
python3 "$here/table.py" "$RESULTS" | tee "$RESULTS/table.txt"
