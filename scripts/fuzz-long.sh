#!/usr/bin/env bash
# A longer fuzzing run than CI's smoke test: every libFuzzer target (or those named) for
# $WPS_FUZZ_SECONDS seconds each (default 180), one process at a time (one core), starting from
# the committed seeds plus what earlier long runs found (build/fuzz/long-corpus/<target>, never
# committed).
# Prints one line per target with its executions; crashes are left in build/fuzz/findings/.
#   scripts/fuzz-long.sh                 # all targets
#   WPS_FUZZ_SECONDS=300 scripts/fuzz-long.sh jwt_fuzz config_fuzz
set -uo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds="${WPS_FUZZ_SECONDS:-180}"
# WPS_FUZZ_BIN: a directory of already built targets (default: build the fuzz preset here).
bin="${WPS_FUZZ_BIN:-$repo/build/fuzz/fuzz}"
[[ -n "${WPS_FUZZ_BIN:-}" ]] || "$repo/scripts/build.sh" fuzz >/dev/null
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  for src in "$repo"/fuzz/*_fuzz.cpp; do
    [[ -x "$bin/$(basename "$src" .cpp)" ]] && targets+=("$(basename "$src" .cpp)")
  done
fi
mkdir -p "$repo/build/fuzz/findings"
status=0
for t in "${targets[@]}"; do
  corpus="$repo/build/fuzz/long-corpus/$t"
  mkdir -p "$corpus"
  dict=()
  [[ -f "$repo/fuzz/dict/${t%_fuzz}.dict" ]] && dict=(-dict="$repo/fuzz/dict/${t%_fuzz}.dict")
  log="$repo/build/fuzz/findings/$t.log"
  "$bin/$t" -max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$repo/build/fuzz/findings/$t-" "${dict[@]}" "$corpus" "$repo/fuzz/corpus/$t" \
    >"$log" 2>&1
  rc=$?
  runs=$(grep -oE '^stat::number_of_executed_units: *[0-9]+' "$log" | awk '{print $2}' | tail -1)
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | awk '{print $2}')
  echo "$t: exit $rc, ${runs:-?} executions in ${seconds} s, coverage ${cov:-?} edges, corpus $(ls "$corpus" | wc -l) files"
  [[ $rc -eq 0 ]] || status=1
done
exit $status
